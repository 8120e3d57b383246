import pytest

from email_campaign_app.core.public_address import LOCAL, UNSET, problem


@pytest.mark.parametrize("host_name", [None, "", "   "])
def test_an_unset_address_is_refused(host_name):
	assert problem(host_name, local_allowed=False) == UNSET


@pytest.mark.parametrize(
	"host_name",
	[
		"http://localhost:8000",
		"localhost",
		"http://127.0.0.1:8000",
		"https://[::1]",
		"http://site1.localhost:8000",
		"127.0.1.1",
	],
)
def test_an_address_on_this_machine_is_refused(host_name):
	assert problem(host_name, local_allowed=False) == LOCAL


@pytest.mark.parametrize("host_name", ["https://crm.example.com", "crm.example.com", "http://10.0.0.5:8000"])
def test_a_public_address_is_accepted(host_name):
	assert problem(host_name, local_allowed=False) is None


@pytest.mark.parametrize("host_name", [None, "http://localhost:8000"])
def test_a_development_bench_may_link_to_itself(host_name):
	assert problem(host_name, local_allowed=True) is None
