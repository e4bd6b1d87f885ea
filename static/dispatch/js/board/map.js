// The live map: stores, riders (moved by position frames) and approximate order areas. Without Leaflet or
// without tiles, a note says so and the tables still list everything.
import { $ } from "../../../common/dom.js";
import { fmt, gettext } from "../../../common/ui.js";
import { cfg, late, state, STATUS } from "./state.js";

const mapState = { map: null, stores: null, riders: new Map(), orders: new Map(), fitted: false };

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
    else if (!failed) container.dataset.tiles = "ok";
  });
  tiles.addTo(map);
  mapState.map = map;
  mapState.stores = L.layerGroup().addTo(map);
  container.dataset.map = "ready";
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

export function drawOrders() {
  const L = window.L;
  if (!mapState.map) return;
  const live = new Set();
  for (const o of state.orders) {
    if (!o.approx || o.approx.lat == null) continue;
    live.add(o.id);
    const label = fmt(gettext("%(code)s · %(area)s (approximate) · %(status)s"), { code: o.pickup_code, area: o.area, status: STATUS[o.status] || o.status });
    let circle = mapState.orders.get(o.id);
    if (!circle) {
      circle = L.circle([o.approx.lat, o.approx.lng], {
        radius: 500, pane: "orders", className: "mk-order", color: "#b85a0d", weight: 2, fillColor: "#f47738",
        fillOpacity: 0.12, dashArray: "6 4",
      }).bindTooltip(label).addTo(mapState.map);
      mapState.orders.set(o.id, circle);
    } else {
      circle.setLatLng([o.approx.lat, o.approx.lng]);
      circle.setTooltipContent(label);
    }
    const node = circle.getElement();
    if (node) {
      node.dataset.order = o.id;
      node.dataset.status = o.status;
    }
  }
  for (const [id, circle] of mapState.orders) {
    if (!live.has(id)) {
      circle.remove();
      mapState.orders.delete(id);
    }
  }
}

export function placeRider(rider) {
  const L = window.L;
  if (!mapState.map) return;
  let marker = mapState.riders.get(rider.id);
  if (rider.lat == null || rider.lng == null || rider.on_duty === false) {
    if (marker) {
      marker.remove();
      mapState.riders.delete(rider.id);
    }
    return;
  }
  if (!marker) {
    marker = L.circleMarker([rider.lat, rider.lng], {
      radius: 9, pane: "riders", className: "mk-rider", color: "#ffffff", weight: 3, fillColor: "#1d70b8",
      fillOpacity: 1,
    }).bindTooltip(rider.name, { permanent: true, direction: "right", offset: [10, 0], className: "rider-label" });
    marker.addTo(mapState.map);
    mapState.riders.set(rider.id, marker);
  } else {
    marker.setLatLng([rider.lat, rider.lng]);
    marker.setTooltipContent(rider.name);
  }
  const node = marker.getElement();
  if (node) {
    node.dataset.rider = rider.id;
    node.dataset.lat = rider.lat;
    node.dataset.lng = rider.lng;
  }
}

export function dropStaleRiderMarkers() {
  for (const [id, marker] of mapState.riders) {
    if (!state.riders.has(id)) {
      marker.remove();
      mapState.riders.delete(id);
    }
  }
}

export function fitOnce() {
  const L = window.L;
  if (!mapState.map || mapState.fitted) return;
  const bounds = L.latLngBounds([]);
  state.stores.forEach((s) => bounds.extend([s.lat, s.lng]));
  state.riders.forEach((r) => { if (r.lat != null) bounds.extend([r.lat, r.lng]); });
  mapState.orders.forEach((circle) => bounds.extend(circle.getBounds()));
  if (!bounds.isValid()) return;
  mapState.fitted = true;
  mapState.map.fitBounds(bounds, { padding: [30, 30], maxZoom: 15 });
}

// A layer of its own for another module's markers (the alerts' layer), above the riders; null without a map.
export function mapLayer() {
  const L = window.L;
  if (!mapState.map) return null;
  if (!mapState.map.getPane("alerts")) mapState.map.createPane("alerts").classList.add("pane-alerts");
  return L.layerGroup([], { pane: "alerts" }).addTo(mapState.map);
}

late.mapLayer = mapLayer;
