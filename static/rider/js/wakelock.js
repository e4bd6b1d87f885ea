// Keep the screen on while an order is picked up (Screen Wake Lock API, where the browser has it).
// The browser drops the lock when the page is hidden, so it is taken again when the page returns.

export class ScreenWake {
  constructor(onChange = () => {}) {
    this.wanted = false;
    this.lock = null;
    this.onChange = onChange;
    document.addEventListener("visibilitychange", () => this.sync());
  }

  get supported() {
    return "wakeLock" in navigator;
  }

  set(wanted) {
    this.wanted = wanted;
    this.sync();
  }

  async sync() {
    if (!this.supported) return;
    if (this.wanted && !this.lock && document.visibilityState === "visible") {
      try {
        const lock = await navigator.wakeLock.request("screen");
        this.lock = lock;
        lock.addEventListener("release", () => {
          if (this.lock === lock) this.lock = null;
          this.onChange(Boolean(this.lock));
        });
      } catch {
        this.lock = null; // refused (battery saver, no user gesture yet): the app works without it
      }
      if (this.lock && !this.wanted) await this.release();
      this.onChange(Boolean(this.lock));
    } else if (!this.wanted && this.lock) {
      await this.release();
      this.onChange(false);
    }
  }

  async release() {
    const lock = this.lock;
    this.lock = null;
    if (lock) {
      try { await lock.release(); } catch { /* already released */ }
    }
  }
}
