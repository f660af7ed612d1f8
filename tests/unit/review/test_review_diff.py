"""Choosing the diff (lfcode.review.diff) on real temporary git repositories, one per case."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from lfcode.review.diff import DiffSpec, ReviewError, collect_diff, is_excluded
from lfcode.review.sources import read_new_source
from lfcode.review.hunks import parse_hunks, split_hunk
from tests.unit.review.gitutil import commit, isolated_git, make_repo, numbered, write  # noqa: F401


def by_path(result) -> dict:
    return {f.path: f for f in result.files}


@pytest.fixture
def repo(tmp_path: Path) -> git.Repo:
    r = make_repo(tmp_path / "work")
    commit(r, {"a.py": numbered(10), "b.py": "x = 1\n"}, "first")
    yield r
    r.close()


def test_default_with_upstream_reviews_unpushed_commits_and_local_work(tmp_path: Path, repo: git.Repo) -> None:
    git.Repo.clone_from(repo.working_tree_dir, tmp_path / "remote.git", bare=True).close()
    repo.create_remote("origin", str(tmp_path / "remote.git")).fetch()
    repo.git.branch("--set-upstream-to=origin/main")
    commit(repo, {"pushed_later.py": "def f():\n    return 1\n"}, "unpushed")
    write(repo, {"a.py": numbered(10).replace("line 3", "LINE 3"), "new_staged.py": "s = 1\n"})
    repo.git.add("new_staged.py")
    write(repo, {"untracked.py": "u = 1\n"})
    result = collect_diff(repo.working_tree_dir)
    files = by_path(result)
    assert set(files) == {"a.py", "new_staged.py", "pushed_later.py", "untracked.py"}
    assert "origin/main" in result.description and result.target == "worktree"
    assert files["a.py"].status == "modified" and files["a.py"].hunks[0].added_lines == [3]
    assert files["untracked.py"].status == "added" and files["untracked.py"].note == "untracked file"
    assert files["pushed_later.py"].hunks[0].added_lines == [1, 2]


def test_default_with_upstream_excludes_what_is_already_pushed(tmp_path: Path, repo: git.Repo) -> None:
    commit(repo, {"b.py": "x = 2\n"}, "second")
    git.Repo.clone_from(repo.working_tree_dir, tmp_path / "remote.git", bare=True).close()
    repo.create_remote("origin", str(tmp_path / "remote.git")).fetch()
    repo.git.branch("--set-upstream-to=origin/main")
    assert collect_diff(repo.working_tree_dir).files == []


def test_default_without_upstream_is_against_head(repo: git.Repo) -> None:
    commit(repo, {"b.py": "x = 2\n"}, "second")
    write(repo, {"a.py": numbered(10).replace("line 9", "nine")})
    result = collect_diff(repo.working_tree_dir)
    assert [f.path for f in result.files] == ["a.py"]
    assert "no upstream" in result.description


def test_untracked_files_can_be_left_out(repo: git.Repo) -> None:
    write(repo, {"u.py": "u = 1\n", "ignored.log": "x\n", ".gitignore": "*.log\n"})
    assert [f.path for f in collect_diff(repo.working_tree_dir).files] == [".gitignore", "u.py"]
    assert collect_diff(repo.working_tree_dir, DiffSpec(include_untracked=False)).files == []


def test_staged_is_index_against_head(repo: git.Repo) -> None:
    write(repo, {"a.py": numbered(10).replace("line 2", "two"), "b.py": "x = 3\n", "u.py": "u\n"})
    repo.git.add("a.py")
    result = collect_diff(repo.working_tree_dir, DiffSpec(staged=True))
    assert [f.path for f in result.files] == ["a.py"] and result.target == "index"
    assert result.files[0].hunks[0].added_lines == [2]
    assert read_new_source(result, "a.py").splitlines()[1] == "two"


@pytest.fixture
def diverged(repo: git.Repo) -> tuple[git.Repo, git.Commit, git.Commit]:
    """main: first -> main2 (changes b.py); feature: first -> feat (adds f.py)."""
    repo.git.checkout("-b", "feature")
    feat = commit(repo, {"f.py": "feature = True\n"}, "feat")
    repo.git.checkout("main")
    main2 = commit(repo, {"b.py": "x = 42\n"}, "main2")
    return repo, main2, feat


def test_range_two_dots_compares_the_two_commits(diverged) -> None:
    repo, _main2, feat = diverged
    result = collect_diff(repo.working_tree_dir, DiffSpec(range="main..feature"))
    assert {f.path for f in result.files} == {"b.py", "f.py"}
    assert result.target == feat.hexsha
    assert read_new_source(result, "f.py") == "feature = True\n"


def test_range_three_dots_starts_at_the_merge_base(diverged) -> None:
    repo, _main2, _feat = diverged
    result = collect_diff(repo.working_tree_dir, DiffSpec(range="main...feature"))
    assert [f.path for f in result.files] == ["f.py"]


def test_range_single_revision_means_up_to_head(diverged) -> None:
    repo, _main2, _feat = diverged
    result = collect_diff(repo.working_tree_dir, DiffSpec(range="HEAD~1"))
    assert [f.path for f in result.files] == ["b.py"]


def test_base_branch_uses_merge_base_and_local_work(diverged) -> None:
    repo, _main2, _feat = diverged
    repo.git.checkout("feature")
    write(repo, {"a.py": numbered(10).replace("line 1\n", "one\n")})
    result = collect_diff(repo.working_tree_dir, DiffSpec(base="main"))
    assert {f.path for f in result.files} == {"a.py", "f.py"}
    assert "main" in result.description


def test_path_filters_relative_absolute_and_outside(repo: git.Repo, tmp_path: Path) -> None:
    write(repo, {"a.py": "changed\n", "b.py": "changed\n", "sub/c.py": "c\n"})
    root = Path(repo.working_tree_dir)
    assert [f.path for f in collect_diff(root, DiffSpec(paths=["a.py"])).files] == ["a.py"]
    assert [f.path for f in collect_diff(root, DiffSpec(paths=[str(root / "b.py")])).files] == ["b.py"]
    # Relative paths start at the directory given, as git's pathspecs do.
    assert [f.path for f in collect_diff(root / "sub", DiffSpec(paths=["c.py"])).files] == ["sub/c.py"]
    with pytest.raises(ReviewError, match="outside the repository"):
        collect_diff(root, DiffSpec(paths=[str(tmp_path)]))


def test_empty_repository_counts_everything_as_added(tmp_path: Path) -> None:
    r = make_repo(tmp_path / "empty")
    write(r, {"staged.py": "a = 1\nb = 2\n", "loose.py": "c = 3\n"})
    r.git.add("staged.py")
    files = by_path(collect_diff(r.working_tree_dir))
    assert set(files) == {"staged.py", "loose.py"}
    assert all(f.status == "added" for f in files.values())
    assert files["staged.py"].hunks[0].added_lines == [1, 2]
    staged = collect_diff(r.working_tree_dir, DiffSpec(staged=True))
    assert [f.path for f in staged.files] == ["staged.py"]
    with pytest.raises(ReviewError, match="no commits yet"):
        collect_diff(r.working_tree_dir, DiffSpec(range="HEAD~1..HEAD"))
    r.close()


def test_detached_head(repo: git.Repo) -> None:
    second = commit(repo, {"b.py": "x = 2\n"}, "second")
    repo.git.checkout(second.hexsha)
    write(repo, {"b.py": "x = 3\n"})
    result = collect_diff(repo.working_tree_dir)
    assert [f.path for f in result.files] == ["b.py"] and "detached" in result.description


def test_rename_with_change_and_deletion(repo: git.Repo) -> None:
    repo.git.mv("a.py", "renamed.py")
    write(repo, {"renamed.py": numbered(10).replace("line 10", "ten")})
    repo.git.rm("b.py")
    files = by_path(collect_diff(repo.working_tree_dir))
    assert files["renamed.py"].status == "renamed" and files["renamed.py"].old_path == "a.py"
    assert files["renamed.py"].hunks[0].added_lines == [10]
    assert files["b.py"].status == "deleted" and files["b.py"].hunks[0].lines == ["-x = 1"]


def test_non_utf8_text_is_decoded_with_replacement(repo: git.Repo) -> None:
    commit(repo, {"latin.txt": "caf\xe9\n".encode("latin-1")}, "latin")
    write(repo, {"latin.txt": "caf\xe9 cr\xe8me\n".encode("latin-1")})
    hunk = by_path(collect_diff(repo.working_tree_dir))["latin.txt"].hunks[0]
    assert hunk.lines == ["-caf\ufffd", "+caf\ufffd cr\ufffdme"]


def test_binary_files_are_skipped_with_a_note(repo: git.Repo) -> None:
    commit(repo, {"img.bin": b"\x00\x01\x02"}, "bin")
    write(repo, {"img.bin": b"\x00\x01\x03", "new.bin": b"\x89PNG\x00\x00"})
    files = by_path(collect_diff(repo.working_tree_dir))
    for name in ("img.bin", "new.bin"):
        assert files[name].skipped and files[name].hunks == [] and "binary" in files[name].note


def test_submodules_are_skipped_with_a_note(tmp_path: Path, repo: git.Repo) -> None:
    lib = make_repo(tmp_path / "lib")
    commit(lib, {"lib.py": "v = 1\n"}, "lib")
    repo.git.submodule("add", str(lib.working_tree_dir), "vendored_lib")
    result = collect_diff(repo.working_tree_dir)
    files = by_path(result)
    assert files["vendored_lib"].skipped and "submodule" in files["vendored_lib"].note
    assert any("submodule" in note for note in result.notes)
    assert ".gitmodules" in files and not files[".gitmodules"].skipped
    lib.close()


def test_lock_vendored_and_generated_files_are_skipped(repo: git.Repo) -> None:
    write(repo, {
        "poetry.lock": "x\n", "web/package-lock.json": "{}\n", "vendor/lib.go": "package x\n",
        "app/node_modules/m/index.js": "1\n", "static/app.min.js": "1\n", "api_pb2.py": "1\n",
        "gen/out.py": "1\n", ".gitattributes": "gen/* linguist-generated\n", "keep.py": "k = 1\n",
    })
    files = by_path(collect_diff(repo.working_tree_dir))
    skipped = {p for p, f in files.items() if f.skipped}
    assert skipped == {"poetry.lock", "web/package-lock.json", "vendor/lib.go", "api_pb2.py",
                       "app/node_modules/m/index.js", "static/app.min.js", "gen/out.py"}
    assert "linguist" in files["gen/out.py"].note and "*.lock" in files["poetry.lock"].note
    custom = by_path(collect_diff(repo.working_tree_dir, DiffSpec(exclude=["keep.py"])))
    assert custom["keep.py"].skipped and not custom["poetry.lock"].skipped


def test_too_large_files_are_skipped(repo: git.Repo) -> None:
    write(repo, {"a.py": numbered(10, "changed {}")})
    f = collect_diff(repo.working_tree_dir, DiffSpec(max_changed_lines=5)).files[0]
    assert f.skipped and "too large" in f.note


def test_errors_outside_a_repo_and_bad_options(tmp_path: Path, repo: git.Repo) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(ReviewError, match="not a git repository"):
        collect_diff(tmp_path / "plain")
    with pytest.raises(ReviewError, match="no such directory"):
        collect_diff(tmp_path / "missing")
    with pytest.raises(ReviewError, match="unknown revision"):
        collect_diff(repo.working_tree_dir, DiffSpec(range="nope..HEAD"))
    with pytest.raises(ReviewError, match="choose one"):
        collect_diff(repo.working_tree_dir, DiffSpec(staged=True, base="main"))


def test_parse_hunks_numbers_lines_and_reads_dashes_as_content() -> None:
    text = ("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@ def f():\n a\n"
            "--- old\n+++ new\n c\n\\ No newline at end of file\n@@ -10,2 +10,0 @@\n-x\n-y\n")
    first, second = parse_hunks("x", text)
    assert first.lines == [" a", "--- old", "+++ new", " c"] and first.header.endswith("def f():")
    assert first.added_lines == [2] and first.changed_lines == [2]
    assert first.numbered()[2] == (None, 2, "+++ new")
    assert second.added_lines == [] and second.changed_lines == [10]


def test_split_hunk_keeps_line_numbers() -> None:
    body = "".join(f"+n{i}\n" for i in range(1, 7))
    (hunk,) = parse_hunks("x", f"@@ -0,0 +1,6 @@\n{body}")
    a, b = split_hunk(hunk, 2)
    assert a.added_lines == [1, 2, 3] and b.added_lines == [4, 5, 6] and b.new_start == 4


@pytest.mark.parametrize(("path", "hit"), [
    ("Cargo.lock", "*.lock"), ("deep/dir/yarn.lock", "*.lock"), ("vendor/a.c", "vendor/**"),
    ("x/vendor/a/b.c", "vendor/**"), ("src/vendors.py", None), ("dist/x.js", "dist/**"),
    ("a_pb2.py", "*_pb2.py"), ("main.py", None),
])
def test_is_excluded(path: str, hit: str | None) -> None:
    from lfcode.review.diff import DEFAULT_EXCLUDES

    assert is_excluded(path, DEFAULT_EXCLUDES) == hit
