/**
 * A minimal tar writer (POSIX ustar, with a pax header for names longer than ustar holds):
 * regular files and symbolic links only, owner 0, a fixed time, so the same files give the same
 * bytes. GNU tar and bsdtar both read it. Gzip is left to the caller (node:zlib).
 */
const BLOCK = 512;

export interface TarEntry {
  /** Relative path with `/` separators. */
  readonly path: string;
  readonly kind: 'file' | 'symlink';
  /** 0o755 for executables, 0o644 otherwise. */
  readonly mode: number;
  /** The file's bytes, or the link target for a symlink. */
  readonly data: Buffer | string;
  /** Seconds since the epoch. */
  readonly mtime: number;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function splitUstarName(path: string): { name: string; prefix: string } | undefined {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  // ustar splits a long path at a `/` into a prefix (155 bytes) and a name (100 bytes).
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name !== '') {
      return { name, prefix };
    }
  }
  return undefined;
}

function header(fields: {
  name: string;
  prefix: string;
  mode: number;
  size: number;
  mtime: number;
  type: string;
  linkname: string;
}): Buffer {
  const block = Buffer.alloc(BLOCK);
  const put = (offset: number, width: number, text: string): void => {
    block.write(text, offset, Math.min(width, Buffer.byteLength(text)), 'utf8');
  };
  put(0, 100, fields.name);
  put(100, 8, octal(fields.mode, 8));
  put(108, 8, octal(0, 8));
  put(116, 8, octal(0, 8));
  put(124, 12, octal(fields.size, 12));
  put(136, 12, octal(fields.mtime, 12));
  put(148, 8, '        ');
  put(156, 1, fields.type);
  put(157, 100, fields.linkname);
  put(257, 6, 'ustar\0');
  put(263, 2, '00');
  put(345, 155, fields.prefix);
  let sum = 0;
  for (const byte of block) sum += byte;
  put(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return block;
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** A pax record `LEN key=value\n`, whose length counts its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body);
  while (String(length).length + Buffer.byteLength(body) !== length) {
    length = String(length).length + Buffer.byteLength(body);
  }
  return `${length}${body}`;
}

/** The blocks of one entry: a pax header first when the path or link is too long for ustar. */
export function tarEntry(entry: TarEntry): Buffer[] {
  const data = entry.kind === 'file' ? (entry.data as Buffer) : Buffer.alloc(0);
  const linkname = entry.kind === 'symlink' ? String(entry.data) : '';
  const split = splitUstarName(entry.path);
  const blocks: Buffer[] = [];
  const longLink = Buffer.byteLength(linkname) > 100;
  if (!split || longLink) {
    const pax = Buffer.from(
      (split ? '' : paxRecord('path', entry.path)) +
        (longLink ? paxRecord('linkpath', linkname) : ''),
      'utf8',
    );
    blocks.push(
      header({
        name: 'PaxHeader',
        prefix: '',
        mode: 0o644,
        size: pax.length,
        mtime: entry.mtime,
        type: 'x',
        linkname: '',
      }),
      pax,
      padding(pax.length),
    );
  }
  const name = split ?? { name: entry.path.slice(-100), prefix: '' };
  blocks.push(
    header({
      ...name,
      mode: entry.mode,
      size: data.length,
      mtime: entry.mtime,
      type: entry.kind === 'file' ? '0' : '2',
      linkname: longLink ? linkname.slice(0, 100) : linkname,
    }),
  );
  if (data.length > 0) blocks.push(data, padding(data.length));
  return blocks;
}

/** The end of an archive: two zero blocks. */
export function tarEnd(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}
