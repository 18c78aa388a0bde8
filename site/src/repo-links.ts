/**
 * Resolves the links authors write in markdown — repository-relative, the way GitHub
 * shows them — into site hrefs, and remembers every repository path that was linked
 * so the builder can publish it (render a markdown page, highlight a source file,
 * copy an image, list a directory). A link to a path that does not exist, or that
 * leaves the repository, is recorded as a build problem with the file it came from.
 *
 * Sits between `markdown.ts` (which calls the rewriter for every href/src) and
 * `build.ts` (which drains the requested targets until none are left).
 */
import { posix } from 'node:path';
import { relativeHref } from './layout.ts';
import type { LinkRewriter } from './markdown.ts';
import type { RepoPathKind } from './repo.ts';
import { isAsset, isSkippedName, repoPathKind, sitePathFor } from './repo.ts';

/** A repository path some page links to, and where it is published. */
export interface LinkTarget {
  readonly repoPath: string;
  readonly kind: RepoPathKind;
  readonly sitePath: string;
}

/** True for hrefs the site does not own: `https:`, `mailto:`, `data:`, `//host`. */
export function isExternal(href: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('//');
}

/** Collects linked repository paths across all pages of one build. */
export class RepoLinks {
  private readonly targets = new Map<string, LinkTarget>();
  private readonly pending: LinkTarget[] = [];

  /**
   * @param root absolute repository root
   * @param problems where broken links are reported, one line each
   */
  constructor(
    private readonly root: string,
    private readonly problems: string[],
  ) {}

  /**
   * Resolve `href` written in repository file `repoFile` for the page published at
   * `pagePath`. Returns the href to publish (unchanged when external, an in-page
   * anchor, or broken).
   * @example
   * links.resolve('phases/02-wire/README.md', 'phases/02-wire/index.html', '../01-log/README.md#recovery')
   * // '../01-log/index.html#recovery'
   */
  resolve(repoFile: string, pagePath: string, href: string): string {
    const trimmed = href.trim();
    if (trimmed === '' || trimmed.startsWith('#') || isExternal(trimmed)) return href;
    const hashAt = trimmed.indexOf('#');
    const beforeHash = hashAt === -1 ? trimmed : trimmed.slice(0, hashAt);
    let fragment = hashAt === -1 ? '' : trimmed.slice(hashAt + 1);
    const pathPart = beforeHash.split('?')[0] ?? '';
    let decoded: string;
    try {
      decoded = decodeURI(pathPart);
    } catch {
      this.problems.push(`${repoFile}: link "${href}" is not a valid URL path`);
      return href;
    }
    const joined = decoded.startsWith('/')
      ? posix.normalize(decoded.slice(1))
      : posix.normalize(posix.join(posix.dirname(repoFile), decoded));
    const repoPath = joined === '.' || joined === './' ? '' : joined.replace(/\/+$/, '');
    if (repoPath === '..' || repoPath.startsWith('../')) {
      this.problems.push(`${repoFile}: link "${href}" leaves the repository`);
      return href;
    }
    if (repoPath.split('/').some((seg) => seg !== '' && isSkippedName(seg))) {
      this.problems.push(`${repoFile}: link "${href}" points into a folder the site does not publish`);
      return href;
    }
    const kind = repoPathKind(this.root, repoPath);
    if (kind === null) {
      this.problems.push(`${repoFile}: broken link "${href}" (no such file or directory: ${repoPath})`);
      return href;
    }
    const sitePath = sitePathFor(repoPath, kind);
    const isSourcePage = kind === 'file' && !repoPath.toLowerCase().endsWith('.md') && !isAsset(repoPath);
    // GitHub line ranges (#L10-L20) land on the first line: source pages have one id per line.
    if (isSourcePage) fragment = fragment.replace(/^(L\d+)-L\d+$/, '$1');
    this.request({ repoPath, kind, sitePath });
    return relativeHref(pagePath, sitePath) + (fragment === '' ? '' : `#${fragment}`);
  }

  /** A rewriter for `markdown.ts` bound to one source file and its page. */
  rewriterFor(repoFile: string, pagePath: string): LinkRewriter {
    return (href) => this.resolve(repoFile, pagePath, href);
  }

  /** Ask for a repository path to be published (idempotent). */
  request(target: LinkTarget): void {
    if (this.targets.has(target.sitePath)) return;
    this.targets.set(target.sitePath, target);
    this.pending.push(target);
  }

  /** Targets requested since the last call, in request order. */
  drain(): LinkTarget[] {
    return this.pending.splice(0, this.pending.length);
  }
}
