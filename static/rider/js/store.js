// The rider's device storage (IndexedDB): the last copy of each assigned order, for use without
// signal, and the queue of positions taken while offline. Everything here is purged when the
// order's access ends (purgeOrder) and on logout (wipeSiteData).
//
//   orders: {id, ...rider order view, saved_at}
//   pings:  {key (auto, insertion order), lat, lng, accuracy, timestamp, seq, here, orders: [ids]}
import { setBusy } from "../../common/dom.js";

export const DB_NAME = "rider-pwa";
const DB_VERSION = 1;

function promisify(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
    tx.onerror = () => reject(tx.error);
  });
}

class MemoryBackend {
  // Used when IndexedDB is unavailable (some private modes): nothing survives a reload.
  constructor() { this.orders = new Map(); this.pings = new Map(); this.next = 1; }
  async putOrder(o) { this.orders.set(o.id, o); }
  async getOrders() { return [...this.orders.values()]; }
  async deleteOrder(id) { this.orders.delete(id); }
  async addPing(p) { const key = this.next++; this.pings.set(key, { ...p, key }); return key; }
  async getPings() { return [...this.pings.values()].sort((a, b) => a.key - b.key); }
  async deletePing(key) { this.pings.delete(key); }
  async putPing(p) { this.pings.set(p.key, p); }
  close() {}
}

class IdbBackend {
  constructor(db) { this.db = db; }

  static open() {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains("orders")) db.createObjectStore("orders", { keyPath: "id" });
      if (!db.objectStoreNames.contains("pings")) db.createObjectStore("pings", { keyPath: "key", autoIncrement: true });
    };
    return promisify(request).then((db) => {
      // Another tab deleting the database (logout) must not be blocked by this connection.
      db.onversionchange = () => db.close();
      return new IdbBackend(db);
    });
  }

  async run(storeName, mode, fn) {
    const tx = this.db.transaction(storeName, mode);
    const request = fn(tx.objectStore(storeName));
    await done(tx);
    return request ? request.result : undefined;
  }

  putOrder(order) { return this.run("orders", "readwrite", (s) => s.put(order)); }
  getOrders() { return this.run("orders", "readonly", (s) => s.getAll()); }
  deleteOrder(id) { return this.run("orders", "readwrite", (s) => s.delete(id)); }
  addPing(ping) { return this.run("pings", "readwrite", (s) => s.add(ping)); }
  getPings() { return this.run("pings", "readonly", (s) => s.getAll()); }
  deletePing(key) { return this.run("pings", "readwrite", (s) => s.delete(key)); }
  putPing(ping) { return this.run("pings", "readwrite", (s) => s.put(ping)); }
  close() { this.db.close(); }
}

let backendPromise = null;

export function openStore() {
  if (!backendPromise) {
    backendPromise = ("indexedDB" in self ? IdbBackend.open() : Promise.reject(new Error("no IndexedDB")))
      .catch(() => new MemoryBackend());
  }
  return backendPromise;
}

export async function saveOrder(order) {
  const db = await openStore();
  await db.putOrder({ ...order, saved_at: Date.now() });
}

export async function savedOrders() {
  const db = await openStore();
  return db.getOrders();
}

export async function queuePing(ping) {
  const db = await openStore();
  return db.addPing(ping);
}

export async function queuedPings() {
  const db = await openStore();
  return db.getPings();
}

export async function dequeuePing(key) {
  const db = await openStore();
  await db.deletePing(key);
}

// Every local record of one order: its saved copy, and the queued positions taken for it
// (a queued position that also served another active order keeps only that other order).
export async function purgeOrderRecords(id) {
  const db = await openStore();
  await db.deleteOrder(id);
  for (const ping of await db.getPings()) {
    const orders = ping.orders || [];
    if (!orders.includes(id)) continue;
    const rest = orders.filter((o) => o !== id);
    if (rest.length) await db.putPing({ ...ping, orders: rest });
    else await db.deletePing(ping.key);
  }
}

export async function closeStore() {
  if (!backendPromise) return;
  const db = await backendPromise;
  db.close();
  backendPromise = null;
}

// Logout: delete every IndexedDB database of this origin, every cache, and both storages.
export async function wipeSiteData() {
  await closeStore();
  const names = new Set([DB_NAME]);
  if (indexedDB.databases) {
    try { (await indexedDB.databases()).forEach((d) => d.name && names.add(d.name)); } catch { /* older browsers */ }
  }
  await Promise.all([...names].map((name) => new Promise((resolve) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  })));
  if (self.caches) {
    for (const key of await caches.keys()) await caches.delete(key);
  }
  try { sessionStorage.clear(); } catch { /* storage disabled */ }
  try { localStorage.clear(); } catch { /* storage disabled */ }
}

// Every cached answer of the API, and anything cached under this order's path.
export async function purgeCaches(id) {
  if (!self.caches) return;
  try {
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const request of await cache.keys()) {
        const path = new URL(request.url).pathname;
        if (path.startsWith("/api/") || path.includes(`/orders/${id}/`)) await cache.delete(request);
      }
    }
  } catch { /* Cache Storage unavailable */ }
}

// Every storage key that names this order, and the open-order key (`openKey`) when it holds this order.
export function purgeStorage(id, openKey) {
  const pattern = new RegExp(`(^|[.:/_-])order[.:/_-]?${id}($|[.:/_-])`);
  for (const storage of [sessionStorage, localStorage]) {
    try {
      for (const key of Object.keys(storage)) {
        if (pattern.test(key)) storage.removeItem(key);
      }
    } catch { /* storage disabled */ }
  }
  try {
    if (sessionStorage.getItem(openKey) === String(id)) sessionStorage.removeItem(openKey);
  } catch { /* storage disabled */ }
}

// Logout clears everything this page can clear (`clear`: the page's own state; then every stored trace), then
// logs out.
export function wireLogout(clear) {
  const logout = document.querySelector("form[data-logout]");
  if (!logout) return;
  logout.addEventListener("submit", async (event) => {
    if (logout.dataset.wiped) return;
    event.preventDefault();
    const button = logout.querySelector("button");
    if (button) setBusy(button, true, { disable: true });
    clear();
    try { await wipeSiteData(); } catch { /* log out anyway */ }
    logout.dataset.wiped = "1";
    logout.submit();
  });
}
