"""Links in the README (and the other Markdown files of the repository root) keep working here.

Those files are written for the repository, so their links are relative to its root
(``ARCHITECTURE.md``, ``mlvp_assets/bronze/layouts.py``, ``.ci/run``), while the docs see them
from ``docs/``, where those paths do not exist and myst-parser would warn. So:

- every Markdown file of the root other than the README gets a page of its own, generated into
  ``docs/_root/`` (git-ignored) when the build starts; a link to it goes to that page, a link
  to ``README.md`` to the start page and one to ``docs/<page>.md`` to that page;
- a link to a module of the package goes to its API page;
- a link to any other file of the repository becomes a download of that file;
- a link to a folder becomes its name in code font, without a link.

Only links myst-parser could not place are touched; a link that resolves under ``docs/`` stays
as it is.
"""

from __future__ import annotations

import os
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms import SphinxTransform

GENERATED = "_root"
PAGE = """---
orphan: true
---

```{{include}} ../../{name}
:relative-images:
```
"""


def _repository(app) -> Path:
    return Path(app.srcdir).resolve().parent


def generate_root_pages(app) -> None:
    """Write ``docs/_root/<NAME>.md`` for each root ``*.md`` but the README; drop stale ones."""
    folder = Path(app.srcdir) / GENERATED
    wanted = {
        path.name: PAGE.format(name=path.name)
        for path in sorted(_repository(app).glob("*.md"))
        if path.name != "README.md"
    }
    for stale in folder.glob("*.md") if folder.is_dir() else []:
        if stale.name not in wanted:
            stale.unlink()
    for name, text in wanted.items():
        page = folder / name
        if not page.is_file() or page.read_text(encoding="utf-8") != text:
            folder.mkdir(exist_ok=True)
            page.write_text(text, encoding="utf-8")  # unchanged pages are not rewritten, nor rebuilt


class RepositoryLinks(SphinxTransform):
    default_priority = 500

    def apply(self, **kwargs) -> None:
        srcdir = Path(self.env.srcdir).resolve()
        root = srcdir.parent
        docdir = (srcdir / self.env.docname).parent
        for node in list(self.document.findall(addnodes.pending_xref)):
            if node.get("reftype") != "myst" or node.get("refdomain"):
                continue
            path, _, anchor = node["reftarget"].partition("#")
            if not path or (docdir / path).exists():
                continue
            target = Path(os.path.normpath(root / path))
            if not target.is_relative_to(root) or not target.exists():
                continue
            node.replace_self(self._link(node, target, root, srcdir, docdir, anchor))

    def _link(self, node, target: Path, root: Path, srcdir: Path, docdir: Path, anchor: str) -> nodes.Node:
        relative = target.relative_to(root)
        common = {"refdoc": self.env.docname, "refexplicit": node.get("refexplicit", True)}
        if target.is_dir():
            return nodes.literal(node.astext(), node.astext())
        if target.is_relative_to(srcdir):  # docs/<page>.md: the page
            docname = self.env.path2doc(str(target))
        elif target.parent == root and target.suffix == ".md":
            docname = "index" if target.name == "README.md" else f"{GENERATED}/{target.stem}"
        else:
            docname = None
        if docname:  # as myst-parser links a page of the docs
            return self._wrap(
                addnodes.pending_xref,
                node,
                refdomain="doc",
                reftype="myst",
                reftarget=docname,
                reftargetid=anchor or None,
                **common,
            )
        if target.suffix == ".py" and relative.parts[0] == "mlvp_assets":
            module = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
            return self._wrap(
                addnodes.pending_xref, node, refdomain="py", reftype="mod", reftarget=module, **common
            )
        return self._wrap(
            addnodes.download_reference, node, reftarget=os.path.relpath(target, docdir), **common
        )

    @staticmethod
    def _wrap(kind, node, **attributes) -> nodes.Node:
        wrapped = kind("", **attributes)
        wrapped += node.children
        return wrapped


def setup(app):
    app.connect("builder-inited", generate_root_pages)
    app.add_transform(RepositoryLinks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
