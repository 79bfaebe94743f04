// Translated names of the inbox's enumerations. Keys are written out in
// full so webui/ui/i18n_test.go sees each one used.
import type { MessageKey, Translate } from "../i18n";

const statusKeys: Record<string, MessageKey> = {
  waiting: "inbox.status.waiting",
  offered: "inbox.status.offered",
  assigned: "inbox.status.assigned",
  resolved: "inbox.status.resolved",
  abandoned: "inbox.status.abandoned",
};

const channelKeys: Record<string, MessageKey> = {
  chat: "inbox.channel.chat",
  voice: "inbox.channel.voice",
  email: "inbox.channel.email",
  sms: "inbox.channel.sms",
};

const presenceKeys: Record<string, MessageKey> = {
  available: "inbox.presence.available",
  away: "inbox.presence.away",
  "wrap-up": "inbox.presence.wrap_up",
  offline: "inbox.presence.offline",
};

export function statusLabel(t: Translate, s: string): string {
  const k = statusKeys[s];
  return k ? t(k) : s;
}

export function channelLabel(t: Translate, c: string): string {
  const k = channelKeys[c];
  return k ? t(k) : c;
}

export function presenceLabel(t: Translate, p: string): string {
  const k = presenceKeys[p];
  return k ? t(k) : p;
}

/** How a conversation's customer is named: name, else address, else unknown. */
export function customerLabel(t: Translate, c: { name?: string; address?: string }): string {
  return c.name?.trim() || c.address?.trim() || t("inbox.customer.unknown");
}
