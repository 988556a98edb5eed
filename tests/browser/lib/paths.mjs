// Where things live: the repository root, the Cargo target directory, the
// Gatehouse binary, the screenshot folder and the Nu checker's jar.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** tests/browser */
export const browserTestsDir = path.resolve(here, '..');

/** The repository root (where Cargo.toml is). */
export const repoRoot = path.resolve(here, '..', '..', '..');

/** `${CARGO_TARGET_DIR:-target}`, resolved against the repository root like Cargo does from there. */
export const targetDir = path.resolve(repoRoot, process.env.CARGO_TARGET_DIR || 'target');

/** The release binary that run.sh builds (GATEHOUSE_BIN overrides it). */
export const gatehouseBin = process.env.GATEHOUSE_BIN
  ? path.resolve(process.env.GATEHOUSE_BIN)
  : path.join(targetDir, 'release', 'gatehouse');

/** Screenshots, page sources and axe reports: one folder per scenario run. */
export const screenshotsRoot = path.join(targetDir, 'browser-screenshots');

/** The Nu Html Checker, shipped inside the vnu-jar npm package. */
export const vnuJar = path.join(browserTestsDir, 'node_modules', 'vnu-jar', 'build', 'dist', 'vnu.jar');
