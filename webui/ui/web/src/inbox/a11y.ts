// Keyboard use of tab lists (WAI-ARIA tabs pattern): the arrow keys, Home
// and End move to another tab and select it.
export function tabKeys(e: KeyboardEvent): void {
  const list = e.currentTarget as HTMLElement | null;
  const tabs = list ? Array.from(list.querySelectorAll<HTMLElement>("[role=tab]")) : [];
  const at = tabs.indexOf(document.activeElement as HTMLElement);
  if (at < 0) return;
  let next: number;
  switch (e.key) {
    case "ArrowRight":
      next = (at + 1) % tabs.length;
      break;
    case "ArrowLeft":
      next = (at - 1 + tabs.length) % tabs.length;
      break;
    case "Home":
      next = 0;
      break;
    case "End":
      next = tabs.length - 1;
      break;
    default:
      return;
  }
  e.preventDefault();
  tabs[next]?.focus();
  tabs[next]?.click();
}
