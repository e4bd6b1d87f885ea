// In-app voice calls (WebRTC) and masked chat over a party's LiveSocket. No phone number is involved: the
// server relays signalling between the two sockets of a call and chat between an order's two parties.
//   const rtc = new CallManager({ send: (m) => socket.send(m), me: "rider", onPhone: (order, to) => ... });
//   socket onEvent: if (rtc.handle(msg) || chat.handle(msg)) return;   socket onOpen: rtc.reconnected();
// Call states on the bar: calling, ringing, connected (with a timer), ended, missed, declined, busy, failed.
// The calls and the chat live in calls.js (with the bar in call-bar.js) and chat.js.
export { CallManager } from "./calls.js";
export { ChatPanel } from "./chat.js";
