import re

from playwright.sync_api import expect

from tests.webhooks.receiver import Receiver
from webhooks.models import Delivery, DeliveryStatus, Endpoint


def test_delivery_log_filters_shows_payload_and_retries(admin_page, e2e_org, settings):
    settings.WEBHOOKS_ALLOW_HTTP = True
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    with Receiver() as receiver:
        endpoint = Endpoint.objects.create(organisation=e2e_org, url=receiver.url, events=["*"])
        Delivery.objects.create(
            organisation=e2e_org,
            endpoint=endpoint,
            event_type="customer.created",
            body='{"type":"customer.created","data":{"referenceId":"P-OK"}}',
            status=DeliveryStatus.DELIVERED,
            attempts=1,
            last_response_status=200,
        )
        failed = Delivery.objects.create(
            organisation=e2e_org,
            endpoint=endpoint,
            event_type="customer.updated",
            body='{"type":"customer.updated","data":{"referenceId":"P-FAILED"}}',
            status=DeliveryStatus.FAILED,
            attempts=7,
            last_response_status=500,
            last_error="HTTP 500",
        )

        admin_page.goto(f"{admin_page.base_url}/admin/webhooks/delivery/")
        rows = admin_page.locator("#result_list tbody tr")
        expect(rows).to_have_count(2)
        admin_page.click("#changelist-filter a:text-is('Failed')")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(failed.webhook_id)

        admin_page.click(f"#result_list a:text-is('{failed.webhook_id}')")
        expect(admin_page.locator("pre.webhook-payload")).to_contain_text('"P-FAILED"')
        admin_page.go_back()

        admin_page.check("#result_list tbody input.action-select")
        admin_page.select_option("select[name=action]", "retry_selected")
        admin_page.click("button[name=index]")
        expect(admin_page.locator(".messagelist")).to_contain_text("1 delivery(ies) queued again.")
        failed.refresh_from_db()
        assert failed.status == DeliveryStatus.DELIVERED
        assert [r.headers["webhook-id"] for r in receiver.requests] == [failed.webhook_id]
        admin_page.goto(f"{admin_page.base_url}/admin/webhooks/delivery/?status__exact=failed")
        expect(admin_page.locator("#result_list")).to_have_count(0)
        expect(admin_page.locator("#changelist")).to_contain_text(re.compile("0 deliveries"))
