import pytest


@pytest.fixture
def prometheus_down(sim_cluster):
    """The demo cluster, its Prometheus URL pointing at a port where nothing listens."""
    from tests.support.localservers import closed_port

    sim_cluster.prometheus_url = f"http://127.0.0.1:{closed_port()}"
    sim_cluster.save()
    return sim_cluster
