"""Proof of delivery by store policy: the policy matrix, the photo's cleaning and sealing, its readers, shredding."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from dispatch import vault
from dispatch.models import AuditEvent, DeliveryProof, Grant, Order, SealedRecord, Store
from dispatch.services.privacy import order_shred
from tests.exits_helpers import pick_up, token_of
from tests.factories import delivery_pin_of, order_payload

CANARIES = (b"CANARYCAM", b"CANARY-COMMENT", b"CANARY-XMP", b"CANARY-ICC")


def canary_jpeg(size=(2000, 1500)) -> bytes:
    """A phone photo's worst case: EXIF with a camera model, an orientation and a GPS position, an XMP packet, a
    comment and an ICC profile, each carrying a canary."""
    im = Image.new("RGB", size, (200, 40, 40))
    im.paste((20, 20, 220), (0, 0, size[0] // 2, size[1] // 3))  # a block that shows the rotation
    exif = Image.Exif()
    exif[0x0110] = "CANARYCAM"
    exif[0x0112] = 6  # stored sideways: to be turned 90 degrees clockwise
    exif.get_ifd(0x8825).update({1: "N", 2: (51.0, 30.0, 12.0), 3: "W", 4: (0.0, 7.0, 10.0)})
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif, comment=b"CANARY-COMMENT", icc_profile=b"CANARY-ICC" * 10,
            xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">CANARY-XMP</x:xmpmeta>')
    raw = buf.getvalue()
    assert all(c in raw for c in CANARIES)
    return raw


def small_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 10)).save(buf, "JPEG")
    return buf.getvalue()


def upload(rider, order_id: int, raw: bytes, name="door.jpg"):
    return rider.post(f"/api/rider/orders/{order_id}/pod-photo/",
                      {"photo": SimpleUploadedFile(name, raw, content_type="image/jpeg")}, format="multipart")


@pytest.fixture
def out_for_delivery(merchant, dispatcher, rider1, staff1, demo):
    """An order of store 1 under `policy`, picked up by rider1."""
    def make(policy: str, **payload) -> dict:
        store = demo["store1"].staff.store
        Store.objects.filter(pk=store.pk).update(pod_policy=policy)
        r = merchant.post("/api/orders/", order_payload(**payload), format="json")
        assert r.status_code == 201, r.content
        order = r.json()
        assert dispatcher.post(f"/api/dispatch/orders/{order['id']}/assign/",
                               {"rider": demo["rider1"].rider.pk}, format="json").status_code == 200
        pick_up(order, rider1, staff1)
        return order
    return make


# --- The policy matrix --------------------------------------------------------------------------------------
# Each case: (upload a photo first?, the deliver body). "RIGHT" stands for the customer's PIN.
CASES = {
    "nothing": (False, {}),
    "pin_wrong": (False, {"pin": "0000"}),
    "pin_right": (False, {"pin": "RIGHT"}),
    "pin_right_id": (False, {"pin": "RIGHT", "id_checked": True, "id_document": "passport"}),
    "photo": (True, {}),
    "photo_pin_wrong": (True, {"pin": "0000"}),
    "photo_pin_right": (True, {"pin": "RIGHT"}),
    "photo_pin_right_id": (True, {"pin": "RIGHT", "id_checked": True, "id_document": "id_card"}),
}
OK = (200, None)
EXPECTED = {
    "pin": {"nothing": (400, "pin_required"), "pin_wrong": (400, "wrong_pin"), "pin_right": OK, "pin_right_id": OK,
            "photo": (400, "pin_required"), "photo_pin_wrong": (400, "wrong_pin"), "photo_pin_right": OK,
            "photo_pin_right_id": OK},
    "photo": {"nothing": (409, "photo_required"), "pin_wrong": (409, "photo_required"),
              "pin_right": (409, "photo_required"), "pin_right_id": (409, "photo_required"), "photo": OK,
              "photo_pin_wrong": OK, "photo_pin_right": OK, "photo_pin_right_id": OK},
    "pin_photo": {"nothing": (400, "pin_required"), "pin_wrong": (409, "photo_required"),
                  "pin_right": (409, "photo_required"), "pin_right_id": (409, "photo_required"),
                  "photo": (400, "pin_required"), "photo_pin_wrong": (400, "wrong_pin"), "photo_pin_right": OK,
                  "photo_pin_right_id": OK},
    "id_check": {"nothing": (400, "id_check_required"), "pin_wrong": (400, "id_check_required"),
                 "pin_right": (400, "id_check_required"), "pin_right_id": OK,
                 "photo": (400, "id_check_required"), "photo_pin_wrong": (400, "id_check_required"),
                 "photo_pin_right": (400, "id_check_required"), "photo_pin_right_id": OK},
    "leave_at_door": {"nothing": (409, "photo_required"), "pin_wrong": (409, "photo_required"),
                      "pin_right": (409, "photo_required"), "pin_right_id": (409, "photo_required"), "photo": OK,
                      "photo_pin_wrong": OK, "photo_pin_right": OK, "photo_pin_right_id": OK},
}
PHOTO_POLICIES = ("photo", "pin_photo", "leave_at_door")


@pytest.mark.parametrize("policy", list(EXPECTED))
def test_policy_matrix(policy, out_for_delivery, rider1):
    for case, (with_photo, body) in CASES.items():
        order = out_for_delivery(policy)
        oid = order["id"]
        pod = rider1.get(f"/api/rider/orders/{oid}/").json()["pod"]
        assert pod["policy"] == policy and pod["photo"] == (policy in PHOTO_POLICIES) and not pod["photo_taken"]
        if with_photo:
            r = upload(rider1, oid, small_jpeg())
            if policy in PHOTO_POLICIES:
                assert r.status_code == 201, r.content
                assert rider1.get(f"/api/rider/orders/{oid}/").json()["pod"]["photo_taken"] is True
            else:  # no photo is collected where the policy does not ask for one
                assert (r.status_code, r.json()["code"]) == (409, "photo_not_needed")
        body = {k: (delivery_pin_of(order) if v == "RIGHT" else v) for k, v in body.items()}
        r = rider1.post(f"/api/rider/orders/{oid}/deliver/", body, format="json")
        status, code = EXPECTED[policy][case]
        assert r.status_code == status, (policy, case, r.content)
        if code:
            assert r.json()["code"] == code, (policy, case)
            assert Order.objects.get(pk=oid).status == "picked_up"
        else:
            proof = DeliveryProof.objects.get(order_id=oid)
            assert Order.objects.get(pk=oid).status == "delivered"
            assert proof.policy == policy and proof.delivered_at is not None
            assert proof.pin_checked == (policy in ("pin", "pin_photo", "id_check"))
            assert proof.id_document == (body.get("id_document", "") if policy == "id_check" else "")
            assert (proof.photo_sealed is not None) == (policy in PHOTO_POLICIES)


def test_id_check_records_only_the_kind_of_document(out_for_delivery, rider1):
    order = out_for_delivery("id_check")
    r = rider1.post(f"/api/rider/orders/{order['id']}/deliver/",
                    {"pin": delivery_pin_of(order), "id_checked": True, "id_document": "E12345678"}, format="json")
    assert r.status_code == 400 and "id_document" in r.json()["errors"]  # a number is not a document kind
    r = rider1.post(f"/api/rider/orders/{order['id']}/deliver/",
                    {"pin": delivery_pin_of(order), "id_checked": False, "id_document": "passport"}, format="json")
    assert (r.status_code, r.json()["code"]) == (400, "id_check_required")
    r = rider1.post(f"/api/rider/orders/{order['id']}/deliver/",
                    {"pin": delivery_pin_of(order), "id_checked": True, "id_document": "driver_licence"}, format="json")
    assert r.status_code == 200
    proof = DeliveryProof.objects.get(order_id=order["id"])
    assert proof.id_document == "driver_licence" and proof.id_checked_at is not None
    event = AuditEvent.objects.get(order_id=order["id"], action="order.delivered")
    assert event.data["pod"] == "id_check" and event.data["id_document"] == "driver_licence"


# --- The photo ------------------------------------------------------------------------------------------------
def _all_stored_values() -> bytes:
    """Every value of every row of every table, as bytes."""
    chunks = []
    for model in apps.get_models():
        for row in model.objects.all().values_list():
            for value in row:
                if isinstance(value, (bytes, memoryview)):
                    chunks.append(bytes(value))
                elif value is not None:
                    chunks.append(json.dumps(value, default=str).encode())
    return b"\n".join(chunks)


def test_stored_photo_carries_no_metadata_and_is_sealed(out_for_delivery, rider1, merchant):
    order = out_for_delivery("leave_at_door")
    r = upload(rider1, order["id"], canary_jpeg())
    assert r.status_code == 201, r.content
    assert (r.json()["width"], r.json()["height"]) == (960, 1280)  # turned upright, then at most 1280 px
    # The stored bytes are ciphertext: no JPEG, no canary anywhere in the database.
    proof = DeliveryProof.objects.get(order_id=order["id"])
    assert not bytes(proof.photo_sealed).startswith(b"\xff\xd8")
    everything = _all_stored_values()
    for canary in CANARIES:
        assert canary not in everything
    assert b"\xff\xd8\xff" not in everything
    assert rider1.post(f"/api/rider/orders/{order['id']}/deliver/", {}, format="json").status_code == 200

    photo = merchant.get(f"/api/orders/{order['id']}/pod/photo/")
    assert photo.status_code == 200 and photo["Content-Type"] == "image/jpeg"
    assert "no-store" in photo["Cache-Control"]
    jpeg = photo.content
    for canary in CANARIES:
        assert canary not in jpeg
    im = Image.open(io.BytesIO(jpeg))
    assert im.format == "JPEG" and im.size == (960, 1280)
    exif = im.getexif()
    assert dict(exif) == {} and exif.get_ifd(0x8825) == {}
    assert not {"exif", "xmp", "icc_profile", "comment"} & set(im.info)
    assert b"Exif" not in jpeg and b"http://ns.adobe.com/xap" not in jpeg
    # Upright: the blue block drawn top-left of the sideways original is now on the right, at the top.
    assert im.getpixel((900, 100))[2] > 150 and im.getpixel((50, 100))[0] > 150
    viewed = AuditEvent.objects.filter(order_id=order["id"], action="pod.photo_viewed")
    assert [e.data for e in viewed] == [{"party": "merchant"}]

    pod = merchant.get(f"/api/orders/{order['id']}/pod/").json()
    assert pod["policy"] == "leave_at_door" and pod["photo"] is True and pod["pin_checked"] is False
    detail = merchant.get(f"/api/orders/{order['id']}/").json()
    assert detail["pod"]["photo"] is True and detail["feedback"] is None


def test_customer_sees_the_photo_through_the_link_audited(out_for_delivery, rider1):
    order = out_for_delivery("photo")
    token = token_of(order)
    assert Client().get(f"/api/track/{token}/pod/photo/").status_code == 404  # not before a photo and delivery
    assert upload(rider1, order["id"], small_jpeg()).status_code == 201
    assert Client().get(f"/api/track/{token}/pod/photo/").status_code == 404  # not before delivery
    assert rider1.post(f"/api/rider/orders/{order['id']}/deliver/", {}, format="json").status_code == 200
    assert Client().get(f"/api/track/{token}/").json()["pod_photo"] is True
    r = Client().get(f"/api/track/{token}/pod/photo/")
    assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).size == (64, 48)
    assert AuditEvent.objects.filter(order_id=order["id"], action="pod.photo_viewed",
                                     data__party="customer").count() == 1
    Order.objects.filter(pk=order["id"]).update(tracking_expires_at=timezone.now())
    assert Client().get(f"/api/track/{token}/pod/photo/").status_code == 404


def test_photo_unreadable_after_shredding_and_after_retention(out_for_delivery, rider1, merchant):
    order = out_for_delivery("photo")
    assert upload(rider1, order["id"], small_jpeg()).status_code == 201
    assert rider1.post(f"/api/rider/orders/{order['id']}/deliver/", {}, format="json").status_code == 200
    assert merchant.get(f"/api/orders/{order['id']}/pod/photo/").status_code == 200
    # Past the retention window: refused at read time, before any sweep ran.
    Order.objects.filter(pk=order["id"]).update(retention_due_at=timezone.now() - timedelta(seconds=1))
    assert merchant.get(f"/api/orders/{order['id']}/pod/photo/").status_code == 404
    assert merchant.get(f"/api/orders/{order['id']}/pod/").json()["photo"] is False
    Order.objects.filter(pk=order["id"]).update(retention_due_at=timezone.now() + timedelta(days=1))

    sealed = bytes(DeliveryProof.objects.get(order_id=order["id"]).photo_sealed)
    record = SealedRecord.objects.get(order_id=order["id"])
    aad = f"order:{order['id']}".encode()
    assert vault.open_under(record.key_id, record.wrapped_key, sealed, aad=aad, label=b"pod-photo")[:2] == b"\xff\xd8"
    order_shred(order=Order.objects.get(pk=order["id"]))
    record.refresh_from_db()
    assert record.wrapped_key is None  # the data key is gone: the copy taken above can no longer be opened
    with pytest.raises(vault.ShreddedError):
        vault.open_under(record.key_id, record.wrapped_key, sealed, aad=aad, label=b"pod-photo")
    assert DeliveryProof.objects.get(order_id=order["id"]).photo_sealed is None
    assert merchant.get(f"/api/orders/{order['id']}/pod/photo/").status_code == 404
    assert Client().get(f"/api/track/{token_of(order)}/pod/photo/").status_code == 404


def test_other_merchant_and_riders_get_404(out_for_delivery, rider1, client_for):
    order = out_for_delivery("photo")
    assert upload(rider1, order["id"], small_jpeg()).status_code == 201
    assert upload(client_for("rider2"), order["id"], small_jpeg()).status_code == 404
    assert rider1.post(f"/api/rider/orders/{order['id']}/deliver/", {}, format="json").status_code == 200
    other = client_for("merchant2")
    for path in ("/", "/pod/", "/pod/photo/", "/feedback/"):
        r = other.get(f"/api/orders/{order['id']}{path}")
        assert r.status_code == 404, path
    assert client_for("rider1").get(f"/api/orders/{order['id']}/pod/photo/").status_code == 403
    # The rider: no new photo once delivered, and nothing at all once access ends.
    assert (upload(rider1, order["id"], small_jpeg()).json()["code"]) == "already_delivered"
    Grant.objects.filter(order_id=order["id"]).update(expires_at=timezone.now())
    assert upload(rider1, order["id"], small_jpeg()).status_code == 404
    assert rider1.get(f"/api/rider/orders/{order['id']}/").status_code == 404


def test_uploads_that_are_not_photos_are_refused(out_for_delivery, rider1, settings):
    order = out_for_delivery("photo")
    r = upload(rider1, order["id"], b"%PDF-1.4 not a photo at all", name="x.jpg")
    assert (r.status_code, r.json()["code"]) == (400, "not_an_image")
    r = upload(rider1, order["id"], small_jpeg()[:200])  # truncated
    assert (r.status_code, r.json()["code"]) == (400, "not_an_image")
    r = upload(rider1, order["id"], b"\xff\xd8" + b"\0" * (10 * 1024 * 1024))
    assert (r.status_code, r.json()["code"]) == (400, "photo_too_large")
    r = rider1.post(f"/api/rider/orders/{order['id']}/pod-photo/", {"photo": "text"}, format="json")
    assert r.status_code in (400, 415)
    r = rider1.post(f"/api/rider/orders/{order['id']}/pod-photo/", {}, format="multipart")
    assert r.status_code == 400 and "photo" in r.json()["errors"]
    assert not DeliveryProof.objects.filter(order_id=order["id"], photo_sealed__isnull=False).exists()


def test_the_policy_is_set_per_store_by_a_command(demo, out_for_delivery, rider1):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    store = demo["store1"].staff.store
    out = io.StringIO()
    call_command("store_pod_policy", str(store.pk), "id_check", stdout=out)
    assert "now id_check" in out.getvalue()
    assert Store.objects.get(pk=store.pk).pod_policy == "id_check"
    event = AuditEvent.objects.get(action="store.pod_policy_set")
    assert event.data == {"store": store.pk, "from": "pin", "to": "id_check"}
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("store_pod_policy", str(store.pk), "selfie")
    with pytest.raises(CommandError, match="No store"):
        call_command("store_pod_policy", "999999", "pin")
    assert Store.objects.get(pk=store.pk).pod_policy == "id_check"
