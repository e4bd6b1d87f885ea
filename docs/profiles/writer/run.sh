#!/bin/bash
# usage: run.sh DIR TAG  -- bench-live scale + py-spy of each daphne for 15 s mid-step
DIR=$1; TAG=$2
cd $DIR
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0
PYTHONPATH=$DIR .venv/bin/python -m tests.bench_live --profile scale --riders 1000 --steps 1000 --step-seconds 40 --no-echo --warmup-seconds 4 > /tmp/wr/bench-$TAG.txt 2>&1 &
BP=$!
while ! grep -q "warm-up" /tmp/wr/bench-$TAG.txt; do sleep 1; kill -0 $BP 2>/dev/null || exit 1; done
sleep 8
PIDS=$(for p in $(pgrep -f daphne); do [ "$(readlink /proc/$p/cwd)" = "$DIR" ] && echo $p; done)
echo "daphne pids: $PIDS" >> /tmp/wr/spy-$TAG.log
for p in $PIDS; do .venv/bin/py-spy record -p $p -d 15 -r 100 --nonblocking -f raw -o /tmp/wr/spy-$TAG-$p.txt >> /tmp/wr/spy-$TAG.log 2>&1 & done
wait $BP
uptime >> /tmp/wr/bench-$TAG.txt
