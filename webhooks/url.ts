// Where a webhook may be sent. A subscription's URL comes from a tenant: without care it makes the
// server call into its own network (cloud metadata at 169.254.169.254, the database, the broker).
// So: http(s) only, no credentials in the URL, and — unless the deployment allows private networks
// (WEBHOOK_ALLOW_PRIVATE_NETWORKS, for a receiver on loopback in tests or inside one's own network) —
// every address the host resolves to must be public, checked when the subscription is made and again
// at every delivery (a name can be re-pointed after it was checked). Redirects are never followed.
import { isIP } from 'node:net';

export const MAX_URL_LENGTH = 2048;

/** Problems with a subscription URL as written (no DNS here); empty when it is acceptable. */
export function urlProblems(raw: string, allowPrivate: boolean): string[] {
  if (raw.length > MAX_URL_LENGTH) return [`must be at most ${MAX_URL_LENGTH} characters`];
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return ['must be an absolute http or https URL'];
  }
  const problems: string[] = [];
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    problems.push(`scheme ${u.protocol} is not http or https`);
  if (u.username || u.password) problems.push('must not carry credentials (use the signing secret)');
  if (u.hash) problems.push('must not have a fragment');
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (!host) problems.push('must name a host');
  else if (!allowPrivate) {
    if (isIP(host) && !isPublicAddress(host)) problems.push(`host ${host} is not a public address`);
    if (!isIP(host) && (host === 'localhost' || host.endsWith('.localhost') || !host.includes('.')))
      problems.push(`host ${host} is not a public name`);
  }
  return problems;
}

function v4(addr: string): number[] | null {
  const parts = addr.split('.').map(Number);
  return parts.length === 4 && parts.every((p) => Number.isInteger(p) && p >= 0 && p <= 255) ? parts : null;
}

/** The IPv4 address inside an IPv4-mapped IPv6 one (::ffff:a.b.c.d, or as WHATWG URL writes it, ::ffff:hhhh:hhhh). */
function ipv4Mapped(addr: string): string | null {
  const s = addr.toLowerCase();
  const dotted = s.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted) return dotted[1]!;
  const hex = s.match(/^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/);
  if (!hex) return null;
  const [hi, lo] = [Number.parseInt(hex[1]!, 16), Number.parseInt(hex[2]!, 16)];
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** False for loopback, private, link-local, CGNAT, multicast, reserved and unspecified addresses. */
export function isPublicAddress(addr: string): boolean {
  const a = v4(ipv4Mapped(addr) ?? addr);
  if (a) {
    const [x, y] = [a[0]!, a[1]!];
    return !(
      x === 0 ||
      x === 10 ||
      x === 127 ||
      (x === 100 && y >= 64 && y <= 127) ||
      (x === 169 && y === 254) ||
      (x === 172 && y >= 16 && y <= 31) ||
      (x === 192 && y === 168) ||
      (x === 192 && y === 0) ||
      (x === 198 && (y === 18 || y === 19)) ||
      x >= 224
    );
  }
  if (isIP(addr) !== 6) return false;
  const s = addr.toLowerCase();
  if (s === '::' || s === '::1') return false;
  const first = Number.parseInt(s.split(':')[0] || '0', 16);
  // fc00::/7 unique local, fe80::/10 link-local, ff00::/8 multicast, 64:ff9b::/96 NAT64, 2001:db8::/32 docs.
  if ((first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00) return false;
  if (s.startsWith('64:ff9b:') || s.startsWith('2001:db8:')) return false;
  return true;
}
