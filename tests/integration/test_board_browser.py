"""The facilitators' web board in a real browser (Debian's Chromium driven by Playwright) against the
bot running on a real Synapse: `!tableau` gives a link in a direct chat, the link logs in once, and
what the board does reaches members through Matrix. Each page is saved as a screenshot in
build/board-screenshots/ for a person to look at, and checked to fit a phone's width: nothing
wider than 390 px, so nothing is cut or needs a sideways scroll. The pages the team's guide shows
(docs/guide-animation.md) are also saved, on a phone and on a computer's screen, in few colours so
that the repository stays light: in build/board-screenshots/guide/, or in docs/images/ itself with
`make guide-images` (MANUFACTURE_GUIDE_IMAGES=1), so that a test run leaves the repository as it was."""

from __future__ import annotations

import asyncio
import os
import re
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import Browser, Page, ViewportSize, async_playwright

from handlers.board.links import LoginLinks
from storage.board import UsageWeek, week_start
from storage.deposits import Deposit
from storage.questions import AnswerFeedback, AnswerRecord, ForwardedQuestion
from tests.integration.conftest import bot_config

pytestmark = pytest.mark.synapse

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "board-screenshots"
# The guide's pictures, committed: `make guide-images` takes them again when the pages change.
GUIDE_IMAGES = (
    Path(__file__).resolve().parents[2] / "docs" / "images"
    if os.environ.get("MANUFACTURE_GUIDE_IMAGES") == "1"
    else SCREENSHOTS / "guide"
)
# A palette this small keeps a page's picture to tens of kilobytes and its text sharp.
GUIDE_COLOURS = 48
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# A phone's screen: facilitators use the board from Element on their phone.
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
LINK = re.compile(r"http://127\.0\.0\.1:\d+/connexion\?jeton=[\w.\-]+")
SECRET_TITLE = "Accompagnement des élus du canton"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def browser():
    if not await asyncio.to_thread(Path(CHROMIUM).exists):
        pytest.fail("Debian's chromium is missing: `make setup-browser` installs it")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def new_page(browser: Browser) -> Page:
    context = await browser.new_context(viewport=PHONE, locale="fr-FR")
    return await context.new_page()


async def fits_a_phone(page: Page) -> None:
    """Nothing on the page is wider than the phone: no text cut off, no sideways scrolling."""
    assert page.viewport_size == PHONE
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide on a {PHONE['width']} px phone"


def _lighten(path: Path) -> None:
    with Image.open(path) as image:
        light = image.convert("RGB").quantize(colors=GUIDE_COLOURS, method=Image.Quantize.MEDIANCUT)
    light.save(path, optimize=True)


async def screenshot(page: Page, name: str, *, guide: str = "") -> None:
    """The page as the phone shows it, checked to fit; `guide`: also saved for the guide, on the
    phone and on a computer's screen (the top of the page, as one first sees it)."""
    await fits_a_phone(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    if not guide:
        return
    GUIDE_IMAGES.mkdir(parents=True, exist_ok=True)
    phone = GUIDE_IMAGES / f"{guide}-telephone.png"
    await page.screenshot(path=str(phone), full_page=True)
    await asyncio.to_thread(_lighten, phone)
    await page.set_viewport_size(DESKTOP)
    try:
        await page.evaluate("window.scrollTo(0, 0)")
        desktop = GUIDE_IMAGES / f"{guide}-ordinateur.png"
        await page.screenshot(path=str(desktop))
        await asyncio.to_thread(_lighten, desktop)
    finally:
        await page.set_viewport_size(PHONE)


def deposit(sequence: int, depositor: str, title: str, *, shared: bool, origin: str) -> Deposit:
    now = datetime.now(UTC)
    answers = {
        "title": title,
        "tribe": "Alimentation",
        "territory": "Diois",
        "description": f"{title} : un projet pour le territoire.",
    }
    return Deposit(
        reference=f"DEP-{now.year}-{sequence:04d}",
        year=now.year,
        sequence=sequence,
        title=title,
        tribe="Alimentation",
        carrier=depositor,
        depositor=depositor,
        status="nouveau",
        visibility="facilitators",
        origin_room_id=origin,
        origin_confidential=not shared,
        content_shared=shared,
        created_at=now - timedelta(days=sequence),
        answers=answers,
        history=[{"status": "nouveau", "at": now.isoformat(), "by": depositor, "comment": ""}],
    )


def seed_usage_and_history(session, asker: str, voter: str, facilitator: str, tribe: str) -> None:
    """A few weeks of use, for the usage page and its picture: questions the bot answered or not,
    votes, a week whose rows the purge already counted, and a question answered last week."""
    now = datetime.now(UTC)
    for weeks_ago, answered, abstained in ((0, 4, 1), (2, 6, 2), (3, 2, 0)):
        for n in range(answered + abstained):
            session.add(
                AnswerRecord(
                    room_id=tribe,
                    asker=asker,
                    question="Une question",
                    answered=n < answered,
                    created_at=now - timedelta(weeks=weeks_ago),
                )
            )
    session.flush()
    for answer_id, vote in ((1, "up"), (2, "up"), (3, "down")):
        session.add(AnswerFeedback(answer_id=answer_id, user_id=voter, vote=vote, created_at=now))
    session.add(UsageWeek(week=week_start(now) - timedelta(weeks=7), asked=9, answered=7, forwarded=1, up=3, down=1))
    session.add(
        ForwardedQuestion(
            room_id=tribe,
            room_name="Alimentation",
            asker=asker,
            question="Faut-il une assurance pour la fête des semences ?",
            event_id="$earlier",
            created_at=now - timedelta(days=8),
            answer="Oui : l'assurance de l'association couvre la fête, prévenez la mairie.",
            answered_by=facilitator,
            answered_at=now - timedelta(days=7),
        )
    )


async def board_link(facilitator, animation: str, bot_id: str) -> str:
    """`!tableau` in the facilitators' room: the room hears a pointer, the link comes in the direct chat."""
    before = len(facilitator.messages(animation, bot_id))
    await facilitator.send(animation, "!tableau")
    await facilitator.wait_for_message(animation, bot_id, contains="message privé", after=before)
    direct = await facilitator.wait_direct_room(bot_id)
    message = await facilitator.wait_for_message(direct, bot_id, contains="/connexion?jeton=", after=0, timeout=20)
    assert LINK.search(message.body), message.body
    # Only the direct chat has it.
    assert not any(LINK.search(getattr(e, "body", "")) for e in facilitator.messages(animation, bot_id))
    return LINK.findall(message.body)[-1]


async def start(synapse, make_bot, bot_account, human, member, facilitator, tmp_path):
    bot_id = bot_account.user_id
    tribe = await human.create_room("Tribu Alimentation", encrypted=True, invite=(bot_id, member.user_id))
    animation = await facilitator.create_room("Animation", encrypted=True, invite=(bot_id,))
    port = free_port()
    config = bot_config(
        synapse,
        tmp_path / "bot",
        bot_account,
        facilitators=(facilitator.user_id,),
        rooms=[
            {"id": tribe, "kind": "tribe", "name": "Alimentation"},
            {"id": animation, "kind": "facilitators", "name": "Animation"},
        ],
        extra={"board": {"listen": f"127.0.0.1:{port}"}},
    )
    return bot_id, tribe, animation, config


async def test_the_board_from_the_link_to_members_reached_through_synapse(
    synapse, make_bot, bot_account, human, member, facilitator, tmp_path, browser
):
    bot_id, tribe, animation, config = await start(synapse, make_bot, bot_account, human, member, facilitator, tmp_path)
    async with make_bot(config) as app:
        await human.wait_joined(tribe, bot_id)
        await member.wait_joined(tribe, bot_id)
        await facilitator.wait_joined(animation, bot_id)
        year = datetime.now(UTC).year
        asked = await human.send(tribe, "Qui contacter pour un local associatif ?")
        with app.db.session() as session:
            session.add(deposit(1, human.user_id, "Jardin partagé des Lilas", shared=True, origin=tribe))
            session.add(deposit(2, member.user_id, SECRET_TITLE, shared=False, origin="!pairs:localhost"))
            question = ForwardedQuestion(
                room_id=tribe,
                room_name="Alimentation",
                asker=human.user_id,
                question="Qui contacter pour un local associatif ?",
                event_id=asked,
            )
            session.add(question)
            session.flush()
            number = question.id
            seed_usage_and_history(session, human.user_id, member.user_id, facilitator.user_id, tribe)
        await app.reminders.schedule_manual(
            "Atelier mardi à 18 h, salle des fêtes.",
            datetime.now(UTC) + timedelta(days=3),
            ("tribus",),
            facilitator.user_id,
        )

        # A member who is no facilitator gets no link.
        before = len(human.messages(tribe, bot_id))
        await human.send(tribe, "!tableau")
        refused = await human.wait_for_message(tribe, bot_id, after=before, contains="tableau")
        assert "réservée à l'équipe d'animation" in refused.body and "jeton" not in refused.body

        url = await board_link(facilitator, animation, bot_id)
        page = await new_page(browser)
        await page.goto(url)
        await screenshot(page, "01-connexion")
        await page.get_by_role("button", name="Me connecter").click()
        await page.wait_for_url("**/depots")
        cookie = next(c for c in await page.context.cookies() if c["name"] == "tableau_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        listing = await page.content()
        assert f"DEP-{year}-0001" in listing and "Jardin partagé des Lilas" in listing
        # Dates typed the French way, and said in words beside the fields.
        await page.get_by_label("Du", exact=True).fill(f"01/01/{year}")
        await page.get_by_role("button", name="Filtrer").click()
        await page.wait_for_selector("p.meta >> text=Dépôts à partir du")
        assert f"1er janvier {year}" in await page.inner_text("main")
        assert await page.get_by_label("Du", exact=True).input_value() == f"01/01/{year}"
        await screenshot(page, "02-depots", guide="depots")

        # A deposit whose author kept its content: reference and date only, no depositor.
        await page.goto(url.split("/connexion")[0] + f"/depots/DEP-{year}-0002")
        secret = await page.content()
        assert "n'a pas transmis le contenu" in secret
        assert member.user_id not in secret and SECRET_TITLE not in secret
        assert member.user_id not in listing and SECRET_TITLE not in listing
        await screenshot(page, "03-depot-confidentiel", guide="depot-confidentiel")

        # A status change with a comment reaches the depositor in their direct chat.
        await page.goto(url.split("/connexion")[0] + f"/depots/DEP-{year}-0001")
        await page.select_option("select[name=statut]", "en-etude")
        await page.fill("textarea[name=commentaire]", "Rendez-vous pris le 12 mars")
        await page.get_by_role("button", name="Enregistrer et prévenir l'auteur").click()
        await page.wait_for_selector(".flash")
        # The bot opened the direct chat a moment ago: the note is sent, or waits for the member to
        # join, and the flash says which.
        flash = await page.inner_text(".flash")
        assert (
            "Son auteur en est informé en message privé" in flash
            or "dès que cette personne aura accepté l'invitation" in flash
        ), flash
        await screenshot(page, "04-depot", guide="depot")
        direct = await human.wait_direct_room(bot_id)
        told = await human.wait_for_message(direct, bot_id, contains="en étude", timeout=30)
        assert "Rendez-vous pris le 12 mars" in told.body and "Jardin partagé des Lilas" in told.body

        # CSRF: the same form posted from the page's own session, without or with a wrong token.
        base = url.split("/connexion")[0]
        for form in ({"statut": "clos"}, {"statut": "clos", "csrf": "faux"}):
            response = await page.request.post(f"{base}/depots/DEP-{year}-0001/statut", form=form)
            assert response.status == 403 and "jeton de sécurité" in await response.text()
        with app.db.session() as session:
            assert session.get(Deposit, 1).status == "en-etude"

        # An answer from the board reaches the asker in the room where they asked, as a reply.
        await page.goto(f"{base}/questions")
        await screenshot(page, "05-questions", guide="questions")
        before = len(human.messages(tribe, bot_id))
        await page.fill(f"#q{number} textarea[name=reponse]", "La mairie prête une salle : écrivez à l'accueil.")
        await page.locator(f"#q{number}").get_by_label("L'ajouter aussi à la FAQ").check()
        await page.locator(f"#q{number}").get_by_role("button", name="Envoyer la réponse").click()
        await page.wait_for_selector(".flash")
        answer = await human.wait_for_message(
            tribe, bot_id, contains="La mairie prête une salle", after=before, timeout=30
        )
        assert answer.source["content"].get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id") == asked
        assert "Aucune question n'attend de réponse" in await page.content()
        # It stays in the history, with who answered, found by a word of it.
        await page.get_by_label("Rechercher", exact=False).fill("salle")
        await page.get_by_role("button", name="Rechercher").click()
        await page.wait_for_selector("text=correspond à « salle »")
        history = await page.inner_text("main")
        assert f"Répondue par {facilitator.user_id}" in history and "La mairie prête une salle" in history
        assert "Faut-il une assurance" not in history.split("Questions répondues")[1].split("FAQ")[0]
        await screenshot(page, "05-questions-historique", guide="questions-historique")
        # It joined the FAQ, where it can be rewritten, then removed.
        entry = page.locator("article[id^=faq]", has_text="Qui contacter pour un local associatif ?")
        await entry.locator("textarea[name=reponse]").fill("La mairie prête la salle des fêtes, le mardi.")
        await entry.get_by_role("button", name="Enregistrer").click()
        await page.wait_for_selector(".flash")
        assert "Réponse de la FAQ modifiée" in await page.inner_text(".flash")
        assert "la salle des fêtes, le mardi" in await page.content()
        await screenshot(page, "05-questions-faq")
        found = await app.services.search.search("Qui contacter pour un local associatif ?", ["faq"])
        assert found.results and "salle des fêtes" in found.results[0].text
        await (
            page.locator("article[id^=faq]", has_text="Qui contacter pour un local associatif ?")
            .get_by_role("button", name="Retirer de la FAQ")
            .click()
        )
        await page.wait_for_selector(".flash")
        assert "La FAQ est vide" in await page.content()
        assert not (await app.services.search.search("Qui contacter pour un local associatif ?", ["faq"])).results

        await page.goto(f"{base}/agenda")
        agenda = await page.inner_text("main")
        assert "Rappels programmés" in agenda and "Toutes les tribus : Alimentation" in agenda, agenda
        await screenshot(page, "06-agenda", guide="agenda")
        await page.goto(f"{base}/usage")
        assert await page.locator("figure.chart > svg").count() == 3
        usage = await page.inner_text("main")
        assert "avis « utile » (👍)" in usage and "Sans aucune activité" in usage, usage
        # The latest busy week opened, as a facilitator would tap it.
        await page.locator("details.week summary").first.click()
        assert "répondues par le bot" in await page.locator("details.week").first.inner_text()
        await screenshot(page, "07-usage", guide="usage")


async def test_a_link_works_once_and_not_after_ten_minutes_and_nothing_shows_without_it(
    synapse, make_bot, bot_account, human, member, facilitator, tmp_path, browser
):
    bot_id, tribe, animation, config = await start(synapse, make_bot, bot_account, human, member, facilitator, tmp_path)
    async with make_bot(config) as app:
        await facilitator.wait_joined(animation, bot_id)
        with app.db.session() as session:
            session.add(deposit(1, human.user_id, "Jardin partagé des Lilas", shared=True, origin=tribe))
        url = await board_link(facilitator, animation, bot_id)
        base = url.split("/connexion")[0]

        # No cookie, no data.
        stranger = await new_page(browser)
        response = await stranger.goto(f"{base}/depots")
        assert response.status == 401
        assert "DEP-" not in await stranger.content() and "!tableau" in await stranger.content()
        await screenshot(stranger, "08-sans-connexion")

        first = await new_page(browser)
        await first.goto(url)
        await first.get_by_role("button", name="Me connecter").click()
        await first.wait_for_url("**/depots")
        assert "Jardin partagé des Lilas" in await first.content()

        # The same link again, in another browser: refused, and nothing to log in with.
        replay = await new_page(browser)
        response = await replay.goto(url)
        assert response.status == 403 and "déjà servi" in await replay.content()
        assert await replay.get_by_role("button", name="Me connecter").count() == 0
        await screenshot(replay, "09-lien-deja-utilise")

        # A link signed with the bot's key eleven minutes ago has expired.
        secret = (config.data_dir / "board-secret").read_bytes()
        old = LoginLinks(secret, base, lambda: datetime.now(UTC) - timedelta(minutes=11))
        late = await new_page(browser)
        response = await late.goto(old.url(facilitator.user_id))
        assert response.status == 403 and "expiré" in await late.content()
        await screenshot(late, "10-lien-expire")
        # Forged: the same link with another user's id is not signed by the bot.
        response = await late.goto(LoginLinks(b"x" * 32, base, lambda: datetime.now(UTC)).url(facilitator.user_id))
        assert response.status == 403 and "pas valable" in await late.content()


async def test_an_answer_for_the_room_is_read_by_its_members_and_one_in_private_by_the_asker_alone(
    synapse, make_bot, bot_account, human, member, facilitator, tmp_path, browser
):
    bot_id, tribe, animation, config = await start(synapse, make_bot, bot_account, human, member, facilitator, tmp_path)
    async with make_bot(config) as app:
        await human.wait_joined(tribe, bot_id)
        await member.wait_joined(tribe, bot_id)
        await facilitator.wait_joined(animation, bot_id)
        numbers = []
        for text in ("Peut-on venir avec un enfant ?", "Où se garer pour la permanence ?"):
            asked = await human.send(tribe, text)
            with app.db.session() as session:
                question = ForwardedQuestion(
                    room_id=tribe, room_name="Alimentation", asker=human.user_id, question=text, event_id=asked
                )
                session.add(question)
                session.flush()
                numbers.append(question.id)
        private, public = numbers

        url = await board_link(facilitator, animation, bot_id)
        base = url.split("/connexion")[0]
        page = await new_page(browser)
        await page.goto(url)
        await page.get_by_role("button", name="Me connecter").click()
        await page.wait_for_url("**/depots")
        await page.goto(f"{base}/questions")
        card = page.locator(f"#q{private}")
        # Both places are offered, each saying who reads the answer there.
        assert "tous les membres du salon la lisent" in await card.inner_text()
        assert "personne d'autre ne la lit" in await card.inner_text()
        await screenshot(page, "11-questions-choix")

        # « En privé »: the asker reads it in their direct chat with the bot, the room hears nothing.
        await card.locator("textarea[name=reponse]").fill("Oui, les enfants sont les bienvenus (réponse privée).")
        await card.get_by_label("En privé", exact=False).check()
        await card.get_by_role("button", name="Envoyer la réponse").click()
        await page.wait_for_selector(".flash")
        flash = await page.inner_text(".flash")
        assert "en privé" in flash and "personne d'autre ne la lit" in flash and "salon" not in flash
        direct = await human.wait_direct_room(bot_id)
        told = await human.wait_for_message(direct, bot_id, contains="réponse privée", timeout=30)
        assert "Peut-on venir avec un enfant ?" in told.body

        # In the room, as a reply to the question: every member reads it, the third one too.
        card = page.locator(f"#q{public}")
        await card.locator("textarea[name=reponse]").fill("Parking de la mairie, gratuit (réponse au salon).")
        await card.get_by_role("button", name="Envoyer la réponse").click()
        await page.wait_for_selector(".flash")
        assert "tous les membres du salon la lisent" in await page.inner_text(".flash")
        seen = await member.wait_for_message(tribe, bot_id, contains="réponse au salon", timeout=30)
        assert seen.source["content"]["m.relates_to"]["m.in_reply_to"]["event_id"]
        await screenshot(page, "12-questions-repondues")

        # The room's answer came after the private one: had that one gone to the room, the member,
        # who has read past it, would have it.
        assert not any("réponse privée" in getattr(e, "body", "") for e in member.messages())
        assert not any("réponse privée" in getattr(e, "body", "") for e in human.messages(tribe))
        assert not any("réponse au salon" in getattr(e, "body", "") for e in human.messages(direct))
        with app.db.session() as session:
            assert session.get(ForwardedQuestion, private).answer and session.get(ForwardedQuestion, public).answer
