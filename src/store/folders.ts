import fs from 'node:fs';
import path from 'node:path';

/**
 * Creates `dir` and any missing parents, like `fs.mkdirSync(dir, { recursive: true })` but one level at
 * a time: on Node 20 a recursive mkdir below a folder that refuses new entries with ENOENT (anything
 * under /proc) loops forever at full CPU, where this fails at once with the error of the level that
 * could not be made (EEXIST when a file is in the way). Folders it makes are private to the owner
 * (0700: they hold the store and the API token); existing ones are left as they are.
 */
export function makeFolders(dir: string): void {
  if (isFolder(dir)) return;
  const parent = path.dirname(dir);
  if (parent !== dir) makeFolders(parent);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if (!isFolder(dir)) throw err; // else another process made it meanwhile
  }
}

/** True when `p` exists and is a folder (false when missing or unreadable). */
export function isFolder(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
