// Patterns that recognise secrets in free text (commands, logs, payload strings). They err on the
// side of redacting: a false positive costs some readability in the audit feed, a miss leaks a
// credential to everyone who can read it. Each detector names the regex group holding the secret
// value, so `password=hunter2` keeps `password=` visible and only the value is replaced.

export interface SecretDetector {
  /** Short kind shown in the redaction marker, e.g. `aws_access_key_id`. */
  readonly kind: string;
  /** Must have the `g` and `d` flags (global, match indices). */
  readonly pattern: RegExp;
  /** Capture groups that may hold the value (first one that matched wins); 0 = whole match. */
  readonly groups: readonly number[];
}

// Key names that announce a secret in `name=value`, `name: value`, `"name": "value"` or a flag.
const SECRET_NAME = String.raw`(?:passw(?:or)?d|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|auth[_-]?key|credentials?|client[_-]?secret)`;

export const SECRET_DETECTORS: readonly SecretDetector[] = [
  {
    // Whole block; an unterminated block is redacted to the end of the text (fail closed).
    kind: 'private_key',
    pattern:
      /-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|[\s\S]*$)/dg,
    groups: [0],
  },
  {
    kind: 'aws_access_key_id',
    pattern: /\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b/dg,
    groups: [0],
  },
  {
    kind: 'github_token',
    pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/dg,
    groups: [0],
  },
  {
    kind: 'gitlab_token',
    pattern: /\bgl(?:pat|dt|ptt|rt|cbt|imt|ft|oas|soat|agent)-[A-Za-z0-9_-]{20,}/dg,
    groups: [0],
  },
  { kind: 'slack_token', pattern: /\bxox[abposre]-[A-Za-z0-9-]{10,}/dg, groups: [0] },
  { kind: 'slack_webhook', pattern: /https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9_/]+/dg, groups: [0] },
  { kind: 'jwt', pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/dg, groups: [0] },
  // sk-… (OpenAI, sk-proj-…, sk-ant-…), sk_live_/pk_live_/rk_… (Stripe) and similar prefixed keys.
  {
    kind: 'api_key',
    pattern: /\b(?:sk|pk|rk)[-_](?:live_|test_|proj-|ant-)?[A-Za-z0-9_-]{20,}/dg,
    groups: [0],
  },
  { kind: 'api_key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/dg, groups: [0] },
  { kind: 'api_key', pattern: /\b(?:npm|hf)_[A-Za-z0-9]{30,}\b/dg, groups: [0] },
  // Nextcloud app passwords: five groups of five, e.g. `Ab3dE-fGh1J-…`.
  { kind: 'app_password', pattern: /\b[A-Za-z0-9]{5}(?:-[A-Za-z0-9]{5}){4}\b/dg, groups: [0] },
  { kind: 'bearer_token', pattern: /\bBearer\s+([A-Za-z0-9._~+/-]{12,}=*)/dgi, groups: [1] },
  { kind: 'basic_auth', pattern: /\bBasic\s+([A-Za-z0-9+/]{12,}={0,2})/dg, groups: [1] },
  // scheme://user:password@host
  { kind: 'url_password', pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"']+:([^\s@/"']+)@/dgi, groups: [1] },
  // --password hunter2, --token=abc, -secret 'x y'
  {
    kind: 'secret_flag',
    pattern: new RegExp(
      String.raw`(?<![A-Za-z0-9])--?[A-Za-z0-9-]{0,32}${SECRET_NAME}(?:\s+|=)(?:(["'])(.{1,4096}?)\1|([^\s"'-][^\s"']*))`,
      'dgi',
    ),
    groups: [2, 3],
  },
  // password=hunter2, "apiKey": "x", DB_PASSWORD: 'y', secret:z. Name parts are bounded so a long
  // run of word characters cannot make the match quadratic.
  {
    kind: 'secret_assignment',
    pattern: new RegExp(
      String.raw`(?<![A-Za-z0-9])[A-Za-z0-9_.-]{0,64}${SECRET_NAME}[A-Za-z0-9_.-]{0,64}["']?\s*[:=]\s*(?:(["'])(.{1,4096}?)\1|([^\s"'\`,;&|)}\]]+))`,
      'dgi',
    ),
    groups: [2, 3],
  },
];

/** True if a JSON key or variable name announces a secret (its whole value is then redacted). */
export function isSecretFieldName(name: string): boolean {
  return new RegExp(SECRET_NAME, 'i').test(name) || /^(?:authorization|cookie|set-cookie)$/i.test(name);
}

/** Values that are clearly not secrets themselves: references and earlier redactions. */
export function isPlaceholderValue(value: string): boolean {
  return /^(?:\$|%[A-Za-z_]|\[REDACTED|\*+$|<[^>]*>$)/.test(value);
}
