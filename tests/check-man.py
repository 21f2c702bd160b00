#!/usr/bin/python3
"""The man pages stay true to the code (make check-man).

usage: check-man.py SOCKSIFY MANDIR [REPO]

socksify(1)'s OPTIONS list holds every option and subcommand `SOCKSIFY --help` lists, and nothing
else; its ENVIRONMENT list every SOCKSIFY_* variable the sources name (scripts/, core/, preload/)
and --help mentions, and nothing they do not; socksify.conf(5)'s KEYS and PROXYCHAINS.CONF lists
hold every key the two config parsers know (`SOCKSIFY --list-keys`, their own tables), and nothing
else; the shipped socksify.conf documents every socksify.conf key; and neither `mandoc -T lint
-W warning` nor `groff -ww` (what man and lintian use) finds anything in either page.
Prints PASS/FAIL lines and "N passed, N failed"; exit 1 on a failure.
"""
import glob
import os
import re
import subprocess
import sys

results = []


def check(name, problems):
    results.append(not problems)
    print("PASS %s" % name if not problems else "FAIL %s: %s" % (name, "; ".join(problems)))


def compare(what, in_code, in_page):
    """Problems: what the code knows that the page misses, and what the page lists that the code does not know."""
    problems = []
    if in_code - in_page:
        problems.append("missing from the page: %s" % " ".join(sorted(in_code - in_page)))
    if in_page - in_code:
        problems.append("in the page but unknown to the code: %s" % " ".join(sorted(in_page - in_code)))
    if not in_code:
        problems.append("found no %s in the code at all (is the parsing here out of date?)" % what)
    return problems


def run(argv):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    if r.returncode != 0:
        sys.exit("check-man: %s exited with %d: %s" % (" ".join(argv), r.returncode, r.stderr.strip()))
    return r.stdout


# ---------- what the code knows ----------

def help_options(help_text):
    """Options and subcommands of --help: the lines indented by exactly two blanks, up to the first
    gap of two blanks (what follows is the description)."""
    options, subcommands = set(), set()
    for line in help_text.splitlines():
        if not re.match(r"  \S", line):
            continue
        head = re.split(r"\s{2,}", line.strip())[0]
        words = [w.rstrip(",") for w in head.split()]
        if words[0].startswith("-"):
            options.update(w for w in words if re.match(r"--?[A-Za-z]", w))
        else:
            subcommands.update(words)
    return options, subcommands


def code_variables(repo, help_text):
    names = set(re.findall(r"\bSOCKSIFY_[A-Z0-9_]+\b", help_text))
    for path in glob.glob(os.path.join(repo, "*", "*.[ch]")):
        if os.path.basename(os.path.dirname(path)) in ("scripts", "core", "preload"):
            with open(path) as f:
                names.update(re.findall(r'"(SOCKSIFY_[A-Z0-9_]+)"', f.read()))
    # Compile-time names, not variables.
    return {n for n in names if n not in ("SOCKSIFY_VERSION",) and not n.startswith("SOCKSIFY_LIB_")}


def code_keys(socksify):
    keys = {}
    for line in run([socksify, "--list-keys"]).splitlines():
        fmt, key = line.split()
        keys.setdefault(fmt, set()).add(key)
    return keys


# ---------- what the pages say ----------

def section(page, title):
    """The lines of section title (.Sh title up to the next .Sh)."""
    out, inside = [], False
    for line in page.splitlines():
        if line.startswith(".Sh "):
            inside = line[4:].strip().strip('"') == title
        elif inside:
            out.append(line)
    return out


def top_items(lines):
    """The .It lines of the outermost list of lines."""
    depth, items = 0, []
    for line in lines:
        if line.startswith(".Bl"):
            depth += 1
        elif line.startswith(".El"):
            depth -= 1
        elif line.startswith(".It") and depth == 1:
            items.append(line.split()[1:])
    return items


def page_options(page):
    """Fl X -> -X, Fl -long -> --long, Cm word [, word ...] -> subcommands."""
    options, subcommands = set(), set()
    for words in top_items(section(page, "OPTIONS")):
        for i, w in enumerate(words[:-1]):
            if w == "Fl":
                options.add("-" + words[i + 1])
        if words and words[0] == "Cm":
            subcommands.update(w for w in words[1:] if w != ",")
    return options, subcommands


def page_names(page, title, macro):
    """The first word after macro on each top-level .It line of section title that begins with it."""
    return {words[1] for words in top_items(section(page, title)) if len(words) > 1 and words[0] == macro}


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    socksify, mandir = argv[1], argv[2]
    repo = argv[3] if len(argv) > 3 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    pages = {}
    for name in ("socksify.1", "socksify.conf.5"):
        with open(os.path.join(mandir, name)) as f:
            pages[name] = f.read()
    help_text = run([socksify, "--help"])
    options, subcommands = help_options(help_text)
    man_options, man_subcommands = page_options(pages["socksify.1"])
    check("socksify.1 lists the options of --help", compare("option", options, man_options))
    check("socksify.1 lists the subcommands of --help", compare("subcommand", subcommands, man_subcommands))
    check("socksify.1 lists the environment variables", compare(
        "variable", code_variables(repo, help_text), {n for n in page_names(pages["socksify.1"], "ENVIRONMENT", "Ev")
                                                      if n.startswith("SOCKSIFY_")}))
    keys = code_keys(socksify)
    check("socksify.conf.5 lists the keys of socksify.conf", compare(
        "key", keys.get("socksify.conf", set()), page_names(pages["socksify.conf.5"], "KEYS", "Ic")))
    check("socksify.conf.5 lists the proxychains.conf keys read", compare(
        "key", keys.get("proxychains.conf", set()), page_names(pages["socksify.conf.5"], "PROXYCHAINS.CONF", "Ic")))
    with open(os.path.join(repo, "socksify.conf")) as f:
        documented = set(re.findall(r"^# (\w+)", f.read(), re.M))
    missing = keys.get("socksify.conf", set()) - documented
    check("the shipped socksify.conf documents every key",
          ["no '# KEY ...' paragraph for: %s" % " ".join(sorted(missing))] if missing else [])
    for name in pages:
        r = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", os.path.join(mandir, name)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
        check("mandoc -T lint %s" % name, [r.stdout.strip() or "exit status %d" % r.returncode] if r.returncode else [])
        # What man(1) renders with, and lintian checks: its warnings go to stderr, its status stays 0.
        r = subprocess.run(["groff", "-mandoc", "-ww", "-z", "-Tutf8", os.path.join(mandir, name)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
        check("groff -ww %s" % name, [r.stdout.strip() or "exit status %d" % r.returncode]
              if r.returncode or r.stdout.strip() else [])
    print("%d passed, %d failed" % (results.count(True), results.count(False)))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
