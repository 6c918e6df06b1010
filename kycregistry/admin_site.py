"""The admin site: Django's, plus pages that apps mount beside their model admins.

An app that adds pages to another app's model admin (the relationship map on the
customer, the bulk upload on the customer list) registers them from its own admin
module with `site.register_pages(prefix, urls)`; the model admin it extends does not
need to know about it.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import URLPattern, URLResolver, include, path

type PageUrls = Callable[[admin.AdminSite], list[URLPattern]]


class AdminSite(admin.AdminSite):
    site_header = "kycregistry"
    site_title = "kycregistry"
    index_title = "Dashboard"
    site_url = None  # `/` is the admin itself; the header links the API docs instead
    # The dashboard lists the apps; without the sidebar lists get the window's width.
    enable_nav_sidebar = False

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
        self._pages: list[tuple[str, PageUrls]] = []

    def register_pages(self, prefix: str, urls: PageUrls) -> None:
        """Mount the pages `urls(site)` returns under `/admin/<prefix>`, e.g.
        prefix "customers/customer/" puts them beside the customer admin's own."""
        self._pages.append((prefix, urls))

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """The dashboard: counts that link to their filtered lists, recent activity."""
        from kycregistry.dashboard import dashboard_counts, recent_activity

        context = {
            "dashboard_counts": dashboard_counts(request),
            "recent_activity": recent_activity(request),
            **(extra_context or {}),
        }
        return super().index(request, context)

    def get_urls(self) -> list[URLPattern | URLResolver]:
        # Before the model admins': their catch-all `<object_id>/` would shadow them.
        pages: list[URLPattern | URLResolver] = [
            path(prefix, include(urls(self))) for prefix, urls in self._pages
        ]
        return [*pages, *super().get_urls()]


def register_pages(prefix: str, urls: PageUrls) -> None:
    """`AdminSite.register_pages` on the project's site (`django.contrib.admin.site`)."""
    site = admin.site
    assert isinstance(site, AdminSite), "INSTALLED_APPS names kycregistry.apps.AdminConfig"
    site.register_pages(prefix, urls)
