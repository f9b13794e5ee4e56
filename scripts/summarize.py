"""Adds up JUnit XML results (lit and pytest) into one summary line."""
import sys
import xml.etree.ElementTree as ET


def count(path):
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
    total = failed = skipped = 0
    for s in suites:
        total += int(s.get("tests", 0))
        failed += int(s.get("failures", 0)) + int(s.get("errors", 0))
        skipped += int(s.get("skipped", 0))
    return total - failed - skipped, failed, skipped


def main(argv):
    last_only = "--last-line" in argv
    paths = [a for a in argv if a != "--last-line"]
    passed = failed = skipped = 0
    ok = True
    for p in paths:
        c = count(p)
        if c is None:
            if not last_only:
                print(f"{p}: no results")
            ok = False
            failed += 1
            continue
        if not last_only:
            print(f"{p}: {c[0]} passed, {c[1]} failed, {c[2]} skipped")
        passed, failed, skipped = passed + c[0], failed + c[1], skipped + c[2]
    if last_only:
        print(f"summary: {passed} passed, {failed} failed, {skipped} skipped")
    return 0 if ok and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
