# Bench installs the app from pyproject.toml (flit); this shim serves older tools only.
from setuptools import find_packages, setup

from email_campaign_app import __version__

setup(
	name="email_campaign_app",
	version=__version__,
	packages=find_packages(exclude=["tests", "tests.*", "benchmarks"]),
	include_package_data=True,
	zip_safe=False,
)
