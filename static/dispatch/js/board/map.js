// The live map: stores, riders (moved by position frames) and approximate order areas. Without Leaflet or
// without tiles, a note says so and the tables still list everything.
// Riders are clustered (Leaflet.markercluster, vendored): riders closer on screen than a label's width share one
// numbered bubble, which splits as the map zooms in, so the names never pile up. Each rider is a DOM marker whose
// name is part of its icon (no tooltip to measure and position per rider).
import { $, el } from "../../../common/dom.js";
import { fmt, gettext, ngettext } from "../../../common/ui.js";
import { cfg, late, state, STATUS } from "./state.js";

// The layers (tiles, stores, order areas, riders) join the map once, after it has been fitted to them (fitOnce):
// drawn at a placeholder view first, everything was laid out twice, and the second time in one long task.
const mapState = { map: null, tiles: null, stores: null, areas: null, riderLayer: null, riders: new Map(),
  orders: new Map(), fitted: false, shown: false };
const CLUSTER_RADIUS_PX = 80; // wider than a rider's name label: two labels closer than this would overlap

function clusterIcon(cluster) {
  const L = window.L;
  const n = cluster.getChildCount();
  const size = n < 10 ? "small" : n < 30 ? "medium" : "large";
  const html = el("div", {}, el("span", { "aria-hidden": "true" }, String(n)),
    el("span", { class: "visually-hidden" }, fmt(ngettext("%(n)s rider here: zoom in to see them", "%(n)s riders here: zoom in to see them", n), { n })));
  return L.divIcon({ html, className: `marker-cluster marker-cluster-${size} mk-cluster`, iconSize: L.point(40, 40) });
}

export function mapNote(text) {
  const note = $("map-note");
  note.textContent = text;
  note.hidden = !text;
}

export function mapInit() {
  const L = window.L;
  const container = $("map");
  if (!L) {
    container.dataset.map = "unavailable";
    mapNote(gettext("The map could not load. The tables list every store, rider and order."));
    return;
  }
  const map = L.map(container, { zoomControl: true, attributionControl: true }).setView([51.51, -0.11], 13);
  // Leaflet's credit without its inline flag image: plain text and a link that axe (and a reader) can check.
  map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
  map.createPane("orders").classList.add("pane-orders");
  map.createPane("riders").classList.add("pane-riders");
  const tiles = L.tileLayer(cfg.tiles, { maxZoom: 19, attribution: cfg.attribution });
  let failed = false;
  const unavailable = () => {
    if (failed) return;
    failed = true;
    container.dataset.tiles = "unavailable";
    mapNote(gettext("Map tiles unavailable. Stores, riders and order areas are still shown in the right places."));
  };
  tiles.on("tileerror", unavailable);
  // /tiles/ answers a 1-pixel placeholder when the tile server cannot be reached (config/tiles.py): no failed load.
  tiles.on("tileload", (e) => {
    if (e.tile && e.tile.naturalWidth === 1) {
      e.tile.style.display = "none"; // nothing to draw: not an image stretched to 256 px either
      unavailable();
    }
    else if (!failed) {
      container.dataset.tiles = "ok";
      mapNote(""); // the server's "tiles unavailable" from the page, if any: they are back
    }
  });
  mapState.tiles = tiles;
  mapState.map = map;
  mapState.stores = L.layerGroup();
  mapState.areas = L.layerGroup();
  mapState.riderLayer = L.markerClusterGroup
    ? L.markerClusterGroup({ maxClusterRadius: CLUSTER_RADIUS_PX, showCoverageOnHover: false, chunkedLoading: true,
      chunkInterval: 40, chunkDelay: 10, // adding many riders: slices of 40 ms, not the default 200
      spiderfyOnMaxZoom: true, iconCreateFunction: clusterIcon })
    : L.layerGroup(); // the plugin did not load: every rider on its own
  container.dataset.map = "ready";
  setTimeout(showLayers, 5000); // the board's data never came: the map shows what it has
}

export function drawStores() {
  const L = window.L;
  if (!mapState.map) return;
  mapState.stores.clearLayers();
  for (const s of state.stores.values()) {
    L.marker([s.lat, s.lng], {
      icon: L.divIcon({ className: "mk-store", html: "", iconSize: [20, 20], iconAnchor: [10, 10] }),
      title: s.name,
      keyboard: false,
    }).bindTooltip(s.name, { direction: "top", offset: [0, -10] }).addTo(mapState.stores);
  }
}

const AREAS_PER_SLICE = 20; // order areas drawn per slice of work before the browser gets a turn
let areasGeneration = 0;

function yieldToBrowser() {
  if (window.scheduler && typeof window.scheduler.yield === "function") return window.scheduler.yield();
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function drawArea(o) {
  const L = window.L;
  const label = fmt(gettext("%(code)s · %(area)s (approximate) · %(status)s"), { code: o.pickup_code, area: o.area, status: STATUS[o.status] || o.status });
  let circle = mapState.orders.get(o.id);
  if (!circle) {
    circle = L.circle([o.approx.lat, o.approx.lng], {
      radius: 500, pane: "orders", className: "mk-order", color: "#b85a0d", weight: 2, fillColor: "#f47738",
      fillOpacity: 0.12, dashArray: "6 4",
    }).bindTooltip(label).addTo(mapState.areas);
    mapState.orders.set(o.id, circle);
  } else {
    circle.setLatLng([o.approx.lat, o.approx.lng]);
    circle.setTooltipContent(label);
  }
  circle.order = { id: o.id, status: o.status };
  tagArea(circle);
}

// The area's SVG path says which order it is (once it is on the map).
function tagArea(circle) {
  const node = circle.getElement();
  if (node) {
    node.dataset.order = circle.order.id;
    node.dataset.status = circle.order.status;
  }
}

function showLayers() {
  if (!mapState.map || mapState.shown) return;
  mapState.shown = true;
  mapState.tiles.addTo(mapState.map);
  mapState.stores.addTo(mapState.map);
  mapState.areas.addTo(mapState.map);
  mapState.riderLayer.addTo(mapState.map);
  mapState.orders.forEach(tagArea);
}

// The orders' approximate areas, in slices (100 SVG circles at once was one long task); a newer call supersedes
// one still drawing. Resolves once this call's areas are all on the map.
export async function drawOrders() {
  if (!mapState.map) return;
  const mine = ++areasGeneration;
  const orders = state.orders.filter((o) => o.approx && o.approx.lat != null);
  const live = new Set(orders.map((o) => o.id));
  for (const [id, circle] of mapState.orders) {
    if (!live.has(id)) {
      circle.remove();
      mapState.orders.delete(id);
    }
  }
  for (let start = 0; start < orders.length; start += AREAS_PER_SLICE) {
    if (start > 0) {
      await yieldToBrowser();
      if (mine !== areasGeneration) return;
    }
    orders.slice(start, start + AREAS_PER_SLICE).forEach(drawArea);
  }
}

function riderNode(rider) {
  return el("span", { class: "mk-rider", dataset: { rider: rider.id } }, el("span", { class: "mk-rider-name" }, rider.name));
}

// Place, move or remove one rider's marker; new markers are returned (not yet on the map) when `batch` is given,
// so a list of riders joins the cluster layer in one `addLayers` call.
export function placeRider(rider, batch = null) {
  const L = window.L;
  if (!mapState.map) return;
  let marker = mapState.riders.get(rider.id);
  if (rider.lat == null || rider.lng == null || rider.on_duty === false) {
    if (marker) {
      mapState.riderLayer.removeLayer(marker);
      mapState.riders.delete(rider.id);
    }
    return;
  }
  if (!marker) {
    const node = riderNode(rider);
    marker = L.marker([rider.lat, rider.lng], {
      icon: L.divIcon({ html: node, className: "mk-rider-icon", iconSize: [18, 18], iconAnchor: [9, 9] }),
      keyboard: false, title: rider.name,
    });
    marker.node = node;
    mapState.riders.set(rider.id, marker);
    if (batch) batch.push(marker);
    else mapState.riderLayer.addLayer(marker);
  } else {
    const at = marker.getLatLng();
    if (at.lat !== rider.lat || at.lng !== rider.lng) marker.setLatLng([rider.lat, rider.lng]);
    if (marker.node.firstChild.textContent !== rider.name) marker.node.firstChild.textContent = rider.name;
  }
  marker.node.dataset.lat = rider.lat;
  marker.node.dataset.lng = rider.lng;
}

export function placeRiders(riders) {
  if (!mapState.map) return;
  const batch = [];
  riders.forEach((r) => placeRider(r, batch));
  if (batch.length) {
    if (mapState.riderLayer.addLayers) mapState.riderLayer.addLayers(batch);
    else batch.forEach((m) => mapState.riderLayer.addLayer(m));
  }
}

export function dropStaleRiderMarkers() {
  for (const [id, marker] of mapState.riders) {
    if (!state.riders.has(id)) {
      mapState.riderLayer.removeLayer(marker);
      mapState.riders.delete(id);
    }
  }
}

// Fit the view to the stores, riders and order areas, from the data (the layers are not on the map yet), then
// show the layers: one layout at the final view.
export function fitOnce() {
  const L = window.L;
  if (!mapState.map || mapState.fitted) return;
  const bounds = L.latLngBounds([]);
  state.stores.forEach((s) => bounds.extend([s.lat, s.lng]));
  state.riders.forEach((r) => { if (r.lat != null) bounds.extend([r.lat, r.lng]); });
  mapState.orders.forEach((circle) => bounds.extend(circle.getLatLng().toBounds(2 * circle.getRadius())));
  if (bounds.isValid()) {
    mapState.fitted = true;
    mapState.map.fitBounds(bounds, { padding: [30, 30], maxZoom: 15, animate: false });
  }
  showLayers();
}

// A layer of its own for another module's markers (the alerts' layer), above the riders; null without a map.
export function mapLayer() {
  const L = window.L;
  if (!mapState.map) return null;
  if (!mapState.map.getPane("alerts")) mapState.map.createPane("alerts").classList.add("pane-alerts");
  return L.layerGroup([], { pane: "alerts" }).addTo(mapState.map);
}

late.mapLayer = mapLayer;
