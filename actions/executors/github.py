"""The `github-workflow` executor: `workflow_dispatch` through the configured GitHub source's client.

GitHub answers 204 without a run id; the workflow reports its end on the run's status URL (its inputs
carry `wayfinder_request`, `wayfinder_status_url` and `wayfinder_status_token`), so the run stays `running` until then.
"""

from __future__ import annotations

from collections.abc import Callable

from actions.definitions import GitHubWorkflowExecutor
from actions.executors.base import Outcome, Run
from catalog.config import Config, GitHubSourceConfig
from catalog.errors import SourceError
from catalog.sync.sources.github import github_client


def dispatch_workflow(config: Config, spec: GitHubWorkflowExecutor, run: Run, *, sleep: Callable[[float], None]) -> Outcome:
    source = config.source(spec.source)
    assert isinstance(source, GitHubSourceConfig)  # `load_actions` checked it
    api = github_client(source, sleep=sleep)
    inputs = {k: v if isinstance(v, str) else ",".join(map(str, v)) if isinstance(v, list) else str(v).lower() if isinstance(v, bool) else str(v) for k, v in run.inputs.items()}
    # The token is good for this run's status only, and only until its final status.
    inputs |= {"wayfinder_request": str(run.request_id), "wayfinder_status_url": run.status_url, "wayfinder_status_token": run.token}
    try:
        response = api.request("POST", f"repos/{spec.repository}/actions/workflows/{spec.workflow}/dispatches", json={"ref": spec.ref, "inputs": inputs})
    except SourceError as exc:
        return Outcome.failed(str(exc))
    finally:
        api.close()
    if response.status_code not in (200, 201, 204):
        return Outcome.failed(f"GitHub refused the workflow dispatch: HTTP {response.status_code}")
    return Outcome("running", f"Workflow {spec.workflow} dispatched on {spec.repository}@{spec.ref}.")
