"""Fixtures of the behaviour suite: a target, callers (anonymous, customers, staff), products.

The suite only ever talks HTTP to one base URL. Without ``--target`` it starts one monolith
process per pytest session (per xdist worker) with the kit's launcher; with ``--target`` it
tests whatever answers there (the monolith, the strangler proxy, the extracted services).
Every test makes its own data (uuid-based emails, slugs and SKUs), so tests run in parallel
against one shared target without seeing each other.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.conftest import KitOptions
from tests.launch import launched_monolith

from .api_client import ApiClient, new_email, unique

# The self-started monolith pays the slow test card in 0.3 s and throttles logins at 5/min.
SELF_STARTED_ENV = {"SHOP_PAYMENTS_SLOW_SECONDS": "0.3", "SHOP_LOGIN_RATE": "5/min"}
STAFF_TOKEN_MAX_AGE = 600.0  # access tokens live 900 s; log in again well before that


@dataclass(frozen=True)
class System:
    """The system under test, as far as the suite may know it."""

    base_url: str
    staff_email: str
    staff_password: str
    self_started: bool
    login_attempts_per_minute: int | None  # known only for a self-started monolith


@pytest.fixture(scope="session")
def system(kit_options: KitOptions, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    if kit_options.target:
        yield System(
            base_url=kit_options.target,
            staff_email=kit_options.staff_email,
            staff_password=kit_options.staff_password,
            self_started=False,
            login_attempts_per_minute=None,
        )
        return
    with launched_monolith(
        tmp_path_factory.mktemp("monolith"), db=kit_options.db, extra_env=SELF_STARTED_ENV
    ) as server:
        yield System(
            base_url=server.base_url,
            staff_email=server.staff_email,
            staff_password=server.staff_password,
            self_started=True,
            login_attempts_per_minute=5,
        )


@pytest.fixture(scope="session")
def target(system: System) -> str:
    """The base URL of the system under test."""
    return system.base_url


@pytest.fixture
def make_client(target: str) -> Iterator[Callable[..., ApiClient]]:
    """ApiClient factory; every client it makes is closed after the test."""
    made: list[ApiClient] = []

    def make(token: str | None = None) -> ApiClient:
        client = ApiClient(target, token)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def api(make_client: Callable[..., ApiClient]) -> ApiClient:
    """An anonymous caller."""
    return make_client()


def log_in(client: ApiClient, email: str, password: str) -> ApiClient:
    """Log ``client`` in (asserting it works) and keep its tokens."""
    response = client.login(email, password)
    assert response.status_code == 200, response.text
    tokens = response.json()
    client.token = tokens["access_token"]
    client.refresh_token = tokens["refresh_token"]
    client.email = email
    client.password = password
    return client


@pytest.fixture
def new_customer(make_client: Callable[..., ApiClient]) -> Callable[..., ApiClient]:
    """Register and log in a fresh customer; returns its client (token, email, password, id)."""

    def register(name: str = "Test Customer") -> ApiClient:
        client = make_client()
        email, password = new_email(), f"pw-{uuid.uuid4().hex}"
        response = client.register(email, password, name=name)
        assert response.status_code == 201, response.text
        client.id = int(response.json()["id"])
        return log_in(client, email, password)

    return register


@pytest.fixture
def customer(new_customer: Callable[..., ApiClient]) -> ApiClient:
    return new_customer()


@dataclass
class StaffSession:
    """The staff account's token, shared by the session's tests and renewed before it expires."""

    system: System
    token: str = ""
    at: float = field(default=0.0)

    def current(self) -> str:
        if not self.token or time.monotonic() - self.at > STAFF_TOKEN_MAX_AGE:
            with ApiClient(self.system.base_url) as client:
                response = client.login(self.system.staff_email, self.system.staff_password)
            assert response.status_code == 200, (
                f"staff login as {self.system.staff_email} failed (pass --staff-email and "
                f"--staff-password for this target): {response.status_code} {response.text}"
            )
            self.token, self.at = response.json()["access_token"], time.monotonic()
        return self.token


@pytest.fixture(scope="session")
def staff_session(system: System) -> StaffSession:
    return StaffSession(system)


@pytest.fixture
def staff(staff_session: StaffSession, make_client: Callable[..., ApiClient]) -> ApiClient:
    """The staff account (catalog writes, stock, fulfilment)."""
    client = make_client(staff_session.current())
    client.email = staff_session.system.staff_email
    return client


@dataclass(frozen=True)
class Product:
    """A product made for one test, with its one variant."""

    slug: str
    sku: str
    name: str
    description: str
    price: str
    currency: str
    on_hand: int
    category: str | None
    body: dict[str, Any]


@pytest.fixture
def product(staff: ApiClient) -> Callable[..., Product]:
    """Create, through the staff API, a unique product with one variant."""

    def create(
        price: str = "10.00",
        currency: str = "EUR",
        on_hand: int = 10,
        *,
        category: str | None = None,
        name: str | None = None,
        description: str | None = None,
    ) -> Product:
        token = unique()
        slug, sku = f"p-{token}", f"SKU-{token.upper()}"
        name = name or f"Product {token}"
        description = description if description is not None else f"Made for test {token}."
        body: dict[str, Any] = {
            "slug": slug,
            "name": name,
            "description": description,
            "variants": [
                {
                    "sku": sku,
                    "name": "Standard",
                    "attributes": {"size": "M"},
                    "price": price,
                    "currency": currency,
                    "on_hand": on_hand,
                }
            ],
        }
        if category is not None:
            body["category"] = category
        response = staff.create_product(**body)
        assert response.status_code == 201, response.text
        return Product(
            slug=slug,
            sku=sku,
            name=name,
            description=description,
            price=price,
            currency=currency,
            on_hand=on_hand,
            category=category,
            body=response.json(),
        )

    return create


@pytest.fixture
def category(staff: ApiClient) -> Callable[..., str]:
    """Create a unique category through the staff API; returns its slug."""

    def create(name: str | None = None) -> str:
        slug = unique("c-")
        response = staff.create_category(slug, name or f"Category {slug}")
        assert response.status_code == 201, response.text
        return slug

    return create


@pytest.fixture
def stock_of(staff: ApiClient) -> Callable[[str], dict[str, Any]]:
    """The staff view of one SKU's stock: {"sku", "on_hand", "reserved", "available"}."""

    def read(sku: str) -> dict[str, Any]:
        response = staff.stock(sku)
        assert response.status_code == 200, response.text
        return dict(response.json())

    return read
