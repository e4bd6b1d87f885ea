// In-app calls and chat (no numbers): the message panels of a card, with the rider and the customer.
import { ChatPanel } from "../../../common/chat.js";
import { late, send } from "./state.js";

export const chats = new Map(); // order id -> { rider: ChatPanel, customer: ChatPanel }
export function toggleChats(id, r, button) {
  const open = r.chats.hidden;
  if (open && !chats.has(id)) {
    const pair = { rider: new ChatPanel({ send, me: "store", order: id, peer: "rider" }),
      customer: new ChatPanel({ send, me: "store", order: id, peer: "customer" }) };
    chats.set(id, pair);
    r.chats.replaceChildren(pair.rider.root, pair.customer.root);
    pair.rider.load();
    pair.customer.load();
  }
  r.chats.hidden = !open;
  button.setAttribute("aria-expanded", String(open));
}

late.toggleChats = toggleChats;
