import { createHash } from 'node:crypto';
import { OperatorError } from '../errors.js';
import type { RingFreshness } from './freshness.js';
import { buildKeyRing, type KeyRing, parseRingText, plainKeysOnly } from './key-ring.js';
import { cachedKeyRingSource, type KeyRingSource } from './key-ring-source.js';
import { newPlainKey, type RingDocument, type RingEntry } from './ring-document.js';

/** One read of the ring: its document, and what a write must still find there to go ahead. */
export interface StoredRing {
  readonly doc: RingDocument;
  /** Opaque and never key material (a version id, or a digest): compared, never shown. */
  readonly revision: string;
}

/**
 * Where a ring document lives (a Secrets Manager secret, SYMMETRIC_KEY, a ring file) and
 * how its entries are made and unwrapped. A `StoredRing` holds plain keys: nothing may log it.
 */
export interface RingStore {
  /** Names the place, never its value: for reports and log lines. */
  readonly location: string;
  /** Reads the ring afresh; never cached here (the key ring source caches the built ring). */
  read(): Promise<StoredRing>;
  /** Decodes (and unwraps) every entry and checks each key for its role: throws if any is unusable. */
  build(doc: RingDocument): Promise<KeyRing>;
  /** A new 256-bit key as a ring entry for `kid`: KMS-wrapped where the store wraps, plain otherwise. */
  generate(kid: string, doc: RingDocument): Promise<RingEntry>;
  /**
   * Stores `doc` as the ring, refusing with RingChanged if the ring is no longer what `basis` read.
   * Returns where it went (never the value). Stores that cannot be written refuse with RingReadOnly.
   */
  write(doc: RingDocument, basis: StoredRing): Promise<string>;
}

/** Another writer changed the ring between our read and our write: nothing was written; run again. */
export class RingChanged extends OperatorError {
  override readonly name = 'RingChanged';
}

/** The ring's source cannot be written from here (SYMMETRIC_KEY inside a function, say). */
export class RingReadOnly extends OperatorError {
  override readonly name = 'RingReadOnly';
}

/**
 * The key ring of a store's document, loaded on first use and checked again once older than the
 * freshness window by cachedKeyRingSource, which also turns any failure into Unavailable.
 */
export const ringStoreSource = (store: RingStore, freshness?: RingFreshness, now?: () => number): KeyRingSource =>
  cachedKeyRingSource(async () => store.build((await store.read()).doc), freshness, now);

export interface TextRingStoreOptions {
  readonly location: string;
  /** The ring text as SYMMETRIC_KEY would hold it: a bare base64 key or a JSON ring. */
  readonly read: () => Promise<string>;
  /** Stores the new ring (as `ringText(doc)`); omitted: the store is read-only. Returns where it went. */
  readonly write?: (doc: RingDocument, basis: StoredRing) => Promise<string>;
}

/** The ring as the secret, SYMMETRIC_KEY or the dev ring file hold it. */
export const ringText = (doc: RingDocument): string => JSON.stringify(doc);

export const textRevision = (text: string): string => createHash('sha256').update(text.trim()).digest('hex');

/** A ring of plain keys held as text (SYMMETRIC_KEY, the local dev ring file); new keys come from node's CSPRNG. */
export function textRingStore(options: TextRingStoreOptions): RingStore {
  return {
    location: options.location,
    async read() {
      const text = await options.read();
      return { doc: parseRingText(text), revision: textRevision(text) };
    },
    build: (doc) => buildKeyRing(doc, plainKeysOnly),
    generate: async () => newPlainKey(),
    async write(doc, basis) {
      if (!options.write) throw new RingReadOnly(`the ring in ${options.location} cannot be written from here; change it where it is set`);
      return options.write(doc, basis);
    },
  };
}
