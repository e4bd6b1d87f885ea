#!/bin/bash
# usage: run3.sh DIR TAG -- bench-live scale; commits and fixes on the run's database over 15 s mid-step
DIR=$1; TAG=$2
cd $DIR
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0
PYTHONPATH=$DIR .venv/bin/python -m tests.bench_live --profile scale --riders 1000 --steps 1000 --step-seconds 40 --no-echo --warmup-seconds 4 > /tmp/wr/bench-$TAG.txt 2>&1 &
BP=$!
while ! grep -q "warm-up" /tmp/wr/bench-$TAG.txt; do sleep 1; kill -0 $BP 2>/dev/null || exit 1; done
sleep 8
P=$(for p in $(pgrep -f daphne); do [ "$(readlink /proc/$p/cwd)" = "$DIR" ] && echo $p; done | head -1)
DB=$(tr '\0' '\n' < /proc/$P/environ | grep ^DATABASE_URL= | sed 's#.*/##')
q() { psql -h 127.0.0.1 -U postgres -d $DB -Atc "select (select xact_commit from pg_stat_database where datname='$DB'), (select count(*) from dispatch_locationfix)"; }
A=$(q); sleep 15; B=$(q)
echo "db $DB commits,fixes before $A after $B" >> /tmp/wr/commits-$TAG.txt
wait $BP
uptime >> /tmp/wr/commits-$TAG.txt
