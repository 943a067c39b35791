// Semantic-version order (1.10.0 > 1.9.0; a pre-release ranks below its release), as the
// server orders flow versions.
function parse(v: string): { nums: number[]; pre: string[] } {
  const [core, pre] = v.split('+')[0].split(/-(.*)/s, 2);
  return { nums: core.split('.').map((n) => Number(n)), pre: pre ? pre.split('.') : [] };
}

export function compareSemVer(a: string, b: string): number {
  const x = parse(a), y = parse(b);
  for (let i = 0; i < 3; i++) {
    const d = (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
    if (d !== 0 && !Number.isNaN(d)) return Math.sign(d);
  }
  if (x.pre.length === 0 || y.pre.length === 0) return Math.sign(y.pre.length - x.pre.length);
  for (let i = 0; i < Math.min(x.pre.length, y.pre.length); i++) {
    const p = x.pre[i], q = y.pre[i];
    if (p === q) continue;
    const pn = /^\d+$/.test(p), qn = /^\d+$/.test(q);
    if (pn && qn) return Math.sign(Number(p) - Number(q));
    if (pn !== qn) return pn ? -1 : 1;
    return p < q ? -1 : 1;
  }
  return Math.sign(x.pre.length - y.pre.length);
}
