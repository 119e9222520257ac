"""docs/architecture.png is generated from the code: its Graphviz source must match the stack as synthesized now."""

from __future__ import annotations

from tests.support.stacks import Synthesized
from tools.diagram import DEFAULT_OUTPUT, DEFAULT_WORKSPACE, dot_for, graph, load, workspace_stacks


def test_committed_diagram_matches_the_synthesized_stack(synth_aws: Synthesized) -> None:
    expected = dot_for(workspace_stacks(synth_aws.outdir, DEFAULT_WORKSPACE), DEFAULT_WORKSPACE)
    committed = DEFAULT_OUTPUT.with_suffix(".dot")
    assert committed.is_file(), "docs/architecture.dot is missing: run `make diagram`"
    assert committed.read_text() == expected, "the architecture diagram is stale: run `make diagram` and commit it"


def test_diagram_covers_every_concern_and_module(synth_aws: Synthesized) -> None:
    stacks = workspace_stacks(synth_aws.outdir, DEFAULT_WORKSPACE)
    nodes, edges = graph(load(stacks))
    types = {node.type for node in nodes.values()}
    assert {"aws_vpc", "aws_s3_bucket", "aws_kms_key", "aws_lambda_function"} <= types
    modules = {node.scope.split("/module.")[1] for node in nodes.values() if "/module." in node.scope}
    for stack in stacks:
        assert set(synth_aws.stack(stack.name).config.get("module", {})) <= modules
    # The trading stack finds the data-protection stack's key through a lookup, drawn as a dashed arrow.
    assert any(dashed for _, _, dashed in edges)
    # Settings resources fold into what they configure rather than becoming boxes of their own.
    assert "aws_s3_bucket_versioning" not in types
    assert len(nodes) < 80
