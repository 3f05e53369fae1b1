// Third-party images of docker-compose.yml (nextcloud and ollama profiles) must be pinned by digest.
// Palisade's own images are built here from a debootstrap root file system (nothing is pulled); these are
// pulled from a registry, so a tag alone would run whatever the tag points to that day.
//
// validateImageRef() is the rule. scripts/check-image-pins.sh mirrors it in POSIX sh, because it runs inside
// the `*-image-pins` guard containers of docker-compose.yml, which have no Node; the unit tests run both on
// the same cases, and check that the defaults here, in the script and in docker-compose.yml agree.

export type ThirdPartyProfile = 'nextcloud' | 'ollama';

export interface ThirdPartyImage {
  variable: string;
  profile: ThirdPartyProfile;
  service: string;
  /** The tag default of docker-compose.yml (a tag only: digests cannot be looked up offline). */
  tagDefault: string;
}

export const THIRD_PARTY_IMAGES: readonly ThirdPartyImage[] = [
  { variable: 'PALISADE_NEXTCLOUD_IMAGE', profile: 'nextcloud', service: 'nextcloud', tagDefault: 'nextcloud:31-apache' },
  { variable: 'PALISADE_NEXTCLOUD_DB_IMAGE', profile: 'nextcloud', service: 'nextcloud-db', tagDefault: 'postgres:16-bookworm' },
  { variable: 'PALISADE_OLLAMA_IMAGE', profile: 'ollama', service: 'ollama', tagDefault: 'ollama/ollama:0.12.6' },
];

/** Set to 1 to start unpinned third-party images anyway (a warning, not for production). */
export const ALLOW_UNPINNED_VARIABLE = 'PALISADE_ALLOW_UNPINNED_IMAGES';
export const PIN_FIX = 'bash scripts/pin-images.sh';

/**
 * Why `ref` is not a pinned image reference, or undefined when it is: `<name>[:<tag>]@sha256:<64 lowercase
 * hex>`, the tag not `latest` (a pin should say which version it is).
 */
export function validateImageRef(ref: string): string | undefined {
  const at = ref.indexOf('@sha256:');
  if (at < 0) return 'a tag, not a digest';
  const name = ref.slice(0, at);
  const hex = ref.slice(at + '@sha256:'.length);
  if (ref.split('@').length > 2) return 'more than one @';
  if (!name) return 'no image name before @';
  if (/[^A-Za-z0-9._/:-]/.test(name)) return 'invalid characters in the image name';
  if (name.endsWith(':latest')) return 'the tag "latest" (name a version tag)';
  if (/[^0-9a-f]/.test(hex)) return 'the digest is not lowercase hex';
  if (hex.length !== 64) return `the digest has ${hex.length} hex digits, not 64`;
  return undefined;
}

export const isPinnedImageRef = (ref: string): boolean => validateImageRef(ref) === undefined;

/** `VAR=value` lines of a Compose env file (last one wins; surrounding quotes removed). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]] = m[2].trim().replace(/^(["'])(.*)\1$/, '$2');
  }
  return out;
}

export interface ImagePinProblem {
  variable: string;
  ref: string;
  reason: string;
}

export interface ImagePinReport {
  /** True when every image is pinned, or the override is set. */
  ok: boolean;
  problems: ImagePinProblem[];
  /** Set when problems were let through by PALISADE_ALLOW_UNPINNED_IMAGES=1. */
  warning?: string;
  /** Set when not ok: what to do. */
  fix?: string;
  refs: Record<string, string>;
}

/**
 * The image references `profiles` would start with, as Compose resolves them (the environment, else the env
 * file, else the tag default; empty counts as unset, like `${VAR:-default}`), each checked.
 */
export function checkImagePins(profiles: readonly ThirdPartyProfile[], env: Record<string, string | undefined>, envFile: Record<string, string> = {}): ImagePinReport {
  const refs: Record<string, string> = {};
  const problems: ImagePinProblem[] = [];
  for (const image of THIRD_PARTY_IMAGES.filter((i) => profiles.includes(i.profile))) {
    const ref = env[image.variable] || envFile[image.variable] || image.tagDefault;
    refs[image.variable] = ref;
    const reason = validateImageRef(ref);
    if (reason) problems.push({ variable: image.variable, ref, reason });
  }
  if (!problems.length) return { ok: true, problems, refs };
  if ((env[ALLOW_UNPINNED_VARIABLE] || envFile[ALLOW_UNPINNED_VARIABLE]) === '1')
    return { ok: true, problems, refs, warning: `${ALLOW_UNPINNED_VARIABLE}=1: starting images that are not pinned by digest (not for production)` };
  return {
    ok: false,
    problems,
    refs,
    fix: `${PIN_FIX} ${[...new Set(profiles)].join(' ')} (on a machine that can pull; it writes the pins into the env file Compose reads), or set ${ALLOW_UNPINNED_VARIABLE}=1 to run them unpinned anyway`,
  };
}

export const describeProblem = (p: ImagePinProblem): string => `${p.variable}=${p.ref} is not pinned by digest (${p.reason})`;
