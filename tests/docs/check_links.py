#!/usr/bin/env python3
"""Fails when the documentation points at something the repository does not have.

Checks README.md, bench/README.md and docs/**/*.md (outside fenced code blocks):
  - every relative markdown link [text](target) resolves to a file or folder, and its #anchor (also a
    bare #anchor) to a heading of the target file;
  - every backticked path that starts with a top-level entry of the repository (`docs/boot.md`,
    `helper/Guest.cc`, `driver/rpc/Xdr.{h,cc}`, `fuzz/corpus/`) exists; placeholders in capitals
    (NAME, DIR) or angle brackets, and globs, are allowed when some file matches;
  - every bare docs/NAME.md or bench/NAME.md mentioned in the text exists, and `docs/NAME.md "Heading"`
    names a heading of that file;
  - docs/index.md links to every document under docs/.

Usage: check_links.py [SOURCE_ROOT]. Prints one line per problem (file:line: what) and exits 1 if
there is any, 0 otherwise."""
import glob
import os
import re
import sys

LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)')
BACKTICK = re.compile(r'`([^`\s]+)`')
BARE_MD = re.compile(r'(?<![\w./`-])((?:docs|bench)/[\w./-]*\.md)(?:\s+"([^"]+)")?')
PLACEHOLDER = re.compile(r'(?<![A-Za-z])[A-Z][A-Z_]+(?![a-z])|<[^>]*>')
FENCE = re.compile(r'^\s*(```|~~~)')


def slug(heading):
    """GitHub's anchor for a heading text."""
    text = re.sub(r'[`*_]|\[([^\]]*)\]\([^)]*\)', lambda m: m.group(1) or '', heading).strip().lower()
    return re.sub(r'[^\w\- ]', '', text).replace(' ', '-')


def plain(heading):
    return re.sub(r'[`*]', '', heading).strip()


def headings(path, cache={}):
    """(anchors, heading texts) of a markdown file."""
    if path not in cache:
        anchors, texts, seen, fenced = set(), set(), {}, False
        with open(path, encoding='utf-8') as f:
            for line in f:
                if FENCE.match(line):
                    fenced = not fenced
                m = None if fenced else re.match(r'^#{1,6}\s+(.*?)\s*#*\s*$', line)
                if m:
                    s = slug(m.group(1))
                    n = seen.get(s, 0)
                    seen[s] = n + 1
                    anchors.add(s if n == 0 else f'{s}-{n}')
                    texts.add(plain(m.group(1)))
        cache[path] = (anchors, texts)
    return cache[path]


def expand_braces(text):
    m = re.search(r'\{([^{}]*)\}', text)
    if not m:
        return [text]
    return [x for alt in m.group(1).split(',')
            for x in expand_braces(text[:m.start()] + alt + text[m.end():])]


def path_exists(root, rel):
    """A repository path exists: as written, with placeholders or globs matching something, or as the
    stem of a file (`driver/rpc/Connection` for Connection.h and Connection.cc)."""
    for candidate in expand_braces(rel):
        full = os.path.join(root, candidate)
        if os.path.exists(full):
            continue
        pattern = PLACEHOLDER.sub('*', candidate)
        if pattern != candidate or '*' in candidate:
            if glob.glob(os.path.join(root, glob.escape(pattern).replace('[*]', '*'))):
                continue
        if not candidate.endswith('/') and glob.glob(glob.escape(full) + '.*'):
            continue
        return False
    return True


def check_file(root, rel, top_level):
    problems = []
    path = os.path.join(root, rel)
    here = os.path.dirname(path)
    fenced = False
    with open(path, encoding='utf-8') as f:
        lines = f.readlines()
    for number, line in enumerate(lines, 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        where = f'{rel}:{number}'
        for target in LINK.findall(line):
            if re.match(r'^[a-z][a-z0-9+.-]*:', target):
                continue  # http:, https:, mailto:
            file_part, _, anchor = target.partition('#')
            dest = os.path.normpath(os.path.join(here, file_part)) if file_part else path
            if not os.path.exists(dest):
                problems.append(f'{where}: link to {target}: {os.path.relpath(dest, root)} does not exist')
            elif anchor and dest.endswith('.md') and anchor not in headings(dest)[0]:
                problems.append(f'{where}: link to {target}: no heading #{anchor} in {os.path.relpath(dest, root)}')
        for span in BACKTICK.findall(line):
            ref = re.sub(r'[:,.;)]+$|:\d+$', '', span)
            first = ref.split('/', 1)[0]
            if '/' not in ref or first not in top_level or '$' in ref or '@' in ref:
                continue
            if not path_exists(root, ref):
                problems.append(f'{where}: `{span}` does not exist in the repository')
        text = re.sub(r'\]\([^)]*\)|`[^`]*`', ' ', line)  # links and backticks are checked above
        for ref, section in BARE_MD.findall(text):
            dest = os.path.join(root, ref)
            if not os.path.isfile(dest):
                problems.append(f'{where}: {ref} does not exist')
            elif section and plain(section) not in headings(dest)[1]:
                problems.append(f'{where}: {ref} has no heading "{section}"')
    return problems


def unlisted(root, files):
    """Every document under docs/ is linked from docs/index.md."""
    index = os.path.join(root, 'docs', 'index.md')
    if not os.path.isfile(index):
        return ['docs/index.md does not exist']
    with open(index, encoding='utf-8') as f:
        linked = {os.path.normpath(os.path.join(root, 'docs', t.partition('#')[0])) for t in LINK.findall(f.read())}
    return [f'docs/index.md: {rel} is not listed' for rel in files
            if rel.startswith('docs' + os.sep) and rel != os.path.join('docs', 'index.md')
            and os.path.join(root, rel) not in linked]


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
    top_level = {name for name in os.listdir(root) if not name.startswith('.')} - {'build'}
    files = ['README.md', 'bench/README.md'] + sorted(
        os.path.relpath(p, root) for p in glob.glob(os.path.join(root, 'docs', '**', '*.md'), recursive=True))
    problems = []
    for rel in files:
        if os.path.isfile(os.path.join(root, rel)):
            problems += check_file(root, rel, top_level)
    problems += unlisted(root, files)
    if problems:
        print(f'{len(problems)} broken reference(s) in the documentation:')
        print('\n'.join(problems))
        return 1
    print(f'docs links: {len(files)} files checked, every link and path resolves.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
