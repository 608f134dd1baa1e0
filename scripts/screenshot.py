"""Make docs/screenshot.png: the dataset page of a shared dataset with detected tags and some usage.

Builds a throwaway home (three domains, three people), shares a small customer-orders CSV, runs a few
real queries through the gateway as different people, serves the app on a free local port, signs in
with Debian's Chromium through Playwright and takes a 1280x800 screenshot.

    .venv/bin/python scripts/screenshot.py [--out docs/screenshot.png]
"""

from __future__ import annotations

import argparse
import random
import socket
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from threshold.api.app import create_app
from threshold.gateway.service import query
from threshold.identity.service import add_domain, add_user, ensure_admin, get_person, join_domain
from threshold.platform import Platform
from threshold.sharing.service import share

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PEOPLE = [
    ("Anna Schmidt", "anna.schmidt@example.com", "Germany"),
    ("Jean Dupont", "jean.dupont@example.fr", "France"),
    ("Ana Silva", "ana.silva@example.pt", "Portugal"),
    ("Claire Martin", "claire.martin@example.fr", "France"),
    ("Max Müller", "max.mueller@example.de", "Germany"),
    ("Lucia Rossi", "lucia.rossi@example.it", "Italy"),
    ("Pieter de Vries", "pieter.devries@example.nl", "Netherlands"),
    ("Sofia García", "sofia.garcia@example.es", "Spain"),
]
PRODUCTS = [("Pump A-100", 420.0), ("Valve V-20", 38.5), ("Sensor S-7", 129.9), ("Motor M-3", 890.0)]


def orders_csv(path: Path, rows: int = 240) -> Path:
    rnd = random.Random(7)
    lines = ["Order ID,Customer Name,Customer E-Mail,Country,Product,Quantity,Amount EUR,Order Date"]
    start = date(2026, 1, 5)
    for i in range(rows):
        name, email, country = rnd.choice(PEOPLE)
        product, price = rnd.choice(PRODUCTS)
        qty = rnd.randint(1, 12)
        day = start + timedelta(days=rnd.randint(0, 80))
        lines.append(f"SO-{10400 + i},{name},{email},{country},{product},{qty},{qty * price:.2f},{day}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def build_home(home: Path) -> Platform:
    platform = Platform.open(home, must_exist=False)
    platform.init()
    ensure_admin(platform)
    for name, surname in (("anna", "Schmidt"), ("ben", "Keller"), ("carla", "Rossi")):
        add_user(platform, name, display_name=f"{name.title()} {surname}", password=f"{name}-pass")
    add_domain(platform, "sales", title="Sales", owners=("carla",))
    add_domain(platform, "manufacturing", title="Manufacturing", owners=("anna",))
    add_domain(platform, "finance", title="Finance", owners=("ben",))
    join_domain(platform, "anna", "sales")
    carla = get_person(platform, "carla")
    share(
        platform,
        orders_csv(home / "customer_orders.csv"),
        domain="sales",
        user=carla,
        description="Every customer order since January, one row per order line.",
        purpose="order fulfilment and invoicing",
    )
    orders = "sales.customer_orders"
    questions = [
        ("anna", f"SELECT product, sum(quantity) AS units FROM {orders} GROUP BY 1", "demand planning"),
        ("ben", f"SELECT country, sum(amount_eur) AS revenue FROM {orders} GROUP BY 1", "monthly revenue"),
        (
            "ben",
            f"SELECT date_trunc('month', order_date) AS m, sum(amount_eur) FROM {orders} GROUP BY m",
            "monthly revenue",
        ),
        ("carla", f"SELECT customer_name, count(*) AS n FROM {orders} GROUP BY 1", "key accounts"),
    ]
    for user, sql, purpose in questions:
        query(platform, sql, user=get_person(platform, user), purpose=purpose, interface="python")
    return platform


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "screenshot.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="threshold-shot-") as tmp:
        platform = build_home(Path(tmp) / "home")
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(platform), host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.goto(f"{base}/login?next=/datasets/sales.customer_orders")
                page.fill("input[name=username]", "anna")
                page.fill("input[name=password]", "anna-pass")
                page.click("button[type=submit]")
                page.wait_for_url("**/datasets/sales.customer_orders")
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out))
                browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            platform.close()
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
