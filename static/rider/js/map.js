// The destination map (Leaflet from django-leaflet's static files, loaded on first use).
// The pin and the rider's dot are drawn by Leaflet itself, so they show even when tiles cannot load.
import { gettext } from "../../common/ui.js";

let loading = null;

export function loadLeaflet(cfg) {
  if (window.L) return Promise.resolve(window.L);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const css = document.createElement("link");
      css.rel = "stylesheet";
      css.href = cfg.leaflet_css;
      document.head.append(css);
      const script = document.createElement("script");
      script.src = cfg.leaflet_js;
      script.onload = () => resolve(window.L);
      script.onerror = () => { loading = null; script.remove(); reject(new Error(gettext("The map could not load."))); };
      document.head.append(script);
    });
  }
  return loading;
}

export class DestinationMap {
  constructor(container, note, cfg) {
    this.container = container;
    this.note = note;
    this.cfg = cfg;
    this.map = null;
    this.pin = null;
    this.me = null;
    this.pending = null;
  }

  async show(dest, fix) {
    this.pending = { dest, fix };
    const L = await loadLeaflet(this.cfg);
    if (!this.pending) return; // destroyed while loading
    if (!this.map) {
      this.map = L.map(this.container, { zoomControl: true, attributionControl: true });
      // Leaflet's credit without its inline flag image: plain text and a link that axe (and a reader) can check.
      this.map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
      const tiles = L.tileLayer(this.cfg.tiles, { maxZoom: 19, attribution: gettext("© OpenStreetMap contributors") });
      let failed = 0;
      const unavailable = () => {
        failed += 1;
        if (failed === 1 && this.note) {
          this.note.hidden = false;
          this.note.textContent = gettext("Map tiles cannot load right now. The pin is still in the right place.");
        }
      };
      tiles.on("tileerror", unavailable);
      // /tiles/ answers a 1-pixel placeholder when the tile server cannot be reached (config/tiles.py).
      tiles.on("tileload", (e) => {
        if (e.tile && e.tile.naturalWidth === 1) {
          e.tile.style.display = "none"; // nothing to draw: not an image stretched to 256 px either
          unavailable();
        }
        else if (this.note) this.note.hidden = true;
      });
      tiles.addTo(this.map);
      this.pin = L.marker([dest.lat, dest.lng], { title: gettext("Destination"), alt: gettext("Destination"), keyboard: false }).addTo(this.map);
      // First view: the pin, and the rider too when known. After that the rider pans freely.
      if (fix) this.map.fitBounds([[dest.lat, dest.lng], [fix.lat, fix.lng]], { paddingTopLeft: [32, 56], paddingBottomRight: [32, 24], maxZoom: 17 });
      else this.map.setView([dest.lat, dest.lng], 17);
    } else {
      this.pin.setLatLng([dest.lat, dest.lng]);
    }
    this.container.dataset.pin = `${dest.lat},${dest.lng}`;
    this.updateRider(fix);
    this.map.invalidateSize();
  }

  updateRider(fix) {
    if (!this.map || !fix) return;
    const L = window.L;
    if (!this.me) {
      this.me = L.circleMarker([fix.lat, fix.lng], { radius: 9, color: "#ffffff", weight: 3, fillColor: "#1d70b8",
        fillOpacity: 1 }).addTo(this.map);
    } else {
      this.me.setLatLng([fix.lat, fix.lng]);
    }
  }

  destroy() {
    this.pending = null;
    if (this.map) this.map.remove();
    this.map = this.pin = this.me = null;
  }
}
