// Canonical JSON (RFC 8785, JCS) for the values statements carry: strings,
// safe integers, booleans, null, arrays and objects. Never floats.
// JS sorts strings by UTF-16 code units, which is exactly JCS member order,
// and JSON.stringify escapes strings the JCS way for well-formed strings.

export class CanonicalError extends Error {}

export function canonical(value, depth = 0) {
  if (depth > 64) throw new CanonicalError('nesting deeper than 64 levels');
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  switch (typeof value) {
    case 'number':
      if (!Number.isSafeInteger(value)) throw new CanonicalError(`not a safe integer: ${value}`);
      return String(value === 0 ? 0 : value);
    case 'string':
      if (typeof value.isWellFormed === 'function' ? !value.isWellFormed() : /[\ud800-\udfff]/.test(value.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))) {
        throw new CanonicalError('string holds a lone surrogate');
      }
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return '[' + value.map((v) => canonical(v, depth + 1)).join(',') + ']';
      const keys = Object.keys(value).sort();
      return '{' + keys.map((k) => canonical(k, depth + 1) + ':' + canonical(value[k], depth + 1)).join(',') + '}';
    }
    default:
      throw new CanonicalError(`cannot encode a ${typeof value}`);
  }
}

export function canonicalBytes(value) {
  return new TextEncoder().encode(canonical(value));
}
