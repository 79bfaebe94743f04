// Hash routes, so a reload keeps the place: #/inbox, #/inbox/<conversation
// id>, #/admin/<section>, #/search. The hash is the only navigation state.
import { useEffect, useState } from "preact/hooks";

export type Route =
  | { page: "inbox"; conversation?: string }
  | { page: "admin" }
  | { page: "search" }
  | { page: "home" };

/** The route a hash names; anything unknown is home. */
export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/");
  switch (parts[0]) {
    case "inbox": {
      const id = parts[1] ? safeDecode(parts[1]) : "";
      return id ? { page: "inbox", conversation: id } : { page: "inbox" };
    }
    case "admin":
      return { page: "admin" };
    case "search":
      return { page: "search" };
    default:
      return { page: "home" };
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return "";
  }
}

/** The hash of a conversation in the inbox. */
export function conversationHash(id: string): string {
  return "#/inbox/" + encodeURIComponent(id);
}

/** The current route, following hash changes. */
export function useRoute(): Route {
  const [hash, setHash] = useState(() => location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return parseRoute(hash);
}

/** Goes to hash (a history entry, so Back returns). */
export function navigate(hash: string): void {
  if (location.hash !== hash) location.hash = hash;
}

/** Replaces the current hash without a history entry. */
export function redirect(hash: string): void {
  if (location.hash !== hash) {
    history.replaceState(null, "", hash);
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  }
}
