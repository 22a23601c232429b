"""The egress policy: which addresses a fetch may reach, and a hostile feed that tries the rest."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from monitor.config.load import load_config
from monitor.egress import (
    EgressPolicy,
    address_problem,
    canonical_address,
    home_networks,
    parse_network,
)
from monitor.errors import ConfigError, FetchError
from monitor.fetch import Fetcher, FetchLimits
from tests.helpers import ROOT
from tests.monitor.egress_scenario import CREDENTIALS, INTRANET

DOCUMENT = EgressPolicy()
CONFIG = EgressPolicy(private_ok=True)
TEN = EgressPolicy(allowed=(parse_network("10.0.0.0/24"),))
LOOPBACK_HOME = EgressPolicy(allowed=home_networks(["127.0.0.1"]))


@pytest.mark.parametrize(
    ("address", "policy", "problem"),
    [
        ("93.184.216.34", DOCUMENT, None),
        ("2606:2800:220:1:248:1893:25c8:1946", DOCUMENT, None),
        ("169.254.169.254", CONFIG, "cloud metadata address"),
        ("::ffff:169.254.169.254", CONFIG, "cloud metadata address"),
        ("::ffff:a9fe:a9fe", DOCUMENT, "cloud metadata address"),
        ("64:ff9b::a9fe:a9fe", DOCUMENT, "cloud metadata address"),
        ("2002:a9fe:a9fe::1", DOCUMENT, "cloud metadata address"),
        ("fd00:ec2::254", CONFIG, "cloud metadata address"),
        ("100.100.100.200", CONFIG, "cloud metadata address"),
        ("169.254.10.1", CONFIG, "link-local address"),
        ("fe80::1%eth0", CONFIG, "link-local address"),
        ("0.0.0.0", CONFIG, "unspecified address"),
        ("0.1.2.3", CONFIG, "unspecified address"),
        ("::", CONFIG, "unspecified address"),
        ("224.0.0.1", CONFIG, "multicast address"),
        ("ff02::1", CONFIG, "multicast address"),
        ("255.255.255.255", CONFIG, "broadcast address"),
        ("240.0.0.1", CONFIG, "reserved address"),
        ("127.0.0.1", DOCUMENT, "loopback address"),
        ("::1", DOCUMENT, "loopback address"),
        ("::ffff:127.0.0.1", DOCUMENT, "loopback address"),
        ("127.0.0.1", CONFIG, None),
        ("127.0.0.2", LOOPBACK_HOME, None),
        ("::1", LOOPBACK_HOME, None),
        ("10.0.0.5", LOOPBACK_HOME, "private address"),
        ("10.0.0.5", DOCUMENT, "private address"),
        ("10.0.0.5", CONFIG, None),
        ("10.0.0.5", TEN, None),
        ("10.0.1.5", TEN, "private address"),
        ("172.16.0.1", DOCUMENT, "private address"),
        ("192.168.1.1", DOCUMENT, "private address"),
        ("100.64.0.1", DOCUMENT, "private address"),
        ("fd12:3456::1", DOCUMENT, "private address"),
        ("not an address", CONFIG, "unparsable address"),
    ],
)
def test_address_problem(address: str, policy: EgressPolicy, problem: str | None) -> None:
    assert address_problem(address, policy) == problem


@pytest.mark.parametrize(
    ("addresses", "networks"),
    [
        (["127.0.0.1"], ["127.0.0.0/8", "::1/128"]),
        (["10.1.2.3", "192.168.0.9"], ["10.0.0.0/8", "192.168.0.0/16"]),
        (["fd00::5"], ["fc00::/7"]),
        (["198.18.0.1"], ["198.18.0.1/32"]),
        (["93.184.216.34", "bogus"], []),
    ],
)
def test_home_networks_are_the_named_range_a_source_lives_in(
    addresses: list[str], networks: list[str]
) -> None:
    assert [str(n) for n in home_networks(addresses)] == networks


addresses = st.one_of(
    st.text(max_size=60),
    st.ip_addresses().map(str),
    st.integers(0, 2**32 - 1).map(lambda n: f"::ffff:{ipaddress.IPv4Address(n)}"),
)
policies = st.builds(
    EgressPolicy,
    private_ok=st.booleans(),
    allowed=st.lists(st.ip_addresses().map(ipaddress.ip_network), max_size=3).map(tuple),
)


@given(addresses, policies)
def test_egress_check_never_raises_and_judges_every_spelling_alike(
    address: str, policy: EgressPolicy
) -> None:
    problem = address_problem(address, policy)
    assert problem is None or problem.endswith("address")
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return
    canonical = canonical_address(parsed)
    assert canonical_address(canonical) == canonical
    assert address_problem(str(canonical), policy) in (problem, "cloud metadata address")


def test_allow_networks_is_validated_with_file_line_and_hint(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("settings:\n  allow_networks: [10.0.0.0/8, 10.0.0.0/33]\nsources: []\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "invalid network '10.0.0.0/33' (use a CIDR such as 10.0.0.0/8 or fd00::/8)" in str(
        info.value
    )


def test_document_link_to_loopback_is_refused_without_a_loopback_source(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/admin-secret").respond_with_data("secret")
    url = httpserver.url_for("/admin-secret")

    async def scenario() -> str:
        async with Fetcher(FetchLimits("newsmon-test")) as fetcher:
            with pytest.raises(FetchError) as info:
                await fetcher.get(url, subject="public-news")
            return str(info.value)

    assert asyncio.run(scenario()) == (
        f"fetch: public-news: refused loopback address 127.0.0.1 for {url}"
    )
    assert httpserver.log == []


def _namespace_skip_reason() -> str | None:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "needs unshare and ip (util-linux, iproute2)"
    probe = subprocess.run(
        ["unshare", "-n", "ip", "link", "set", "lo", "up"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        return f"cannot make a network namespace here: {probe.stderr.strip()}"
    return None


def hostile_run(workdir: Path, *allow: str) -> dict[str, Any]:
    reason = _namespace_skip_reason()
    if reason:
        pytest.skip(reason)
    done = subprocess.run(
        [
            "unshare",
            "-n",
            sys.executable,
            "-m",
            "tests.monitor.egress_scenario",
            str(workdir),
            *allow,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    assert report["returncode"] == 0, report["stderr"]
    return report


def test_hostile_feed_reaches_no_metadata_or_private_address(tmp_path: Path) -> None:
    report = hostile_run(tmp_path)
    assert report["metadata_hits"] == []
    assert report["intranet_hits"] == []
    for leak in (CREDENTIALS, INTRANET):
        assert leak not in report["stdout"]
        assert leak not in report["export"]
    meta = "/latest/meta-data/iam/security-credentials/admin"
    for line in (
        f"refused cloud metadata address 169.254.169.254 for http://169.254.169.254{meta}",
        f"refused cloud metadata address 169.254.169.254 for http://2852039166{meta}",
        f"refused cloud metadata address 169.254.169.254 for http://0xa9fea9fe{meta}",
        "refused cloud metadata address ::ffff:169.254.169.254 for "
        f"http://[::ffff:169.254.169.254]{meta}",
        "refused private address 10.0.0.5 for http://10.0.0.5/payroll",
    ):
        # Pages refused the same way are logged as one line with their count.
        assert f"skipped: fetch: hostile: {line}" in report["stderr"] or (
            f"failed: fetch: hostile: {line}" in report["stderr"]
        )
    # Refused pages are stored with their feed text and never asked for again; the
    # loopback control page of a loopback source is fetched as before.
    assert sorted(report["site_hits"]) == ["/feed.xml", "/go", "/ok"]
    assert "Plain news." in report["stdout"]
    assert len(json.loads(report["export"])) == 7


def test_allow_networks_lets_document_links_reach_a_listed_private_network(
    tmp_path: Path,
) -> None:
    report = hostile_run(tmp_path, "10.0.0.0/24")
    assert report["intranet_hits"] == ["/payroll"]
    assert INTRANET in report["stdout"]
    assert report["metadata_hits"] == []
    assert CREDENTIALS not in report["stdout"]
