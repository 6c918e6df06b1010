"""The staff groups: "Analyst" reads, "Compliance officer" reads, edits and
approves. Kept in step with the project's models after every migrate, so an app added
later is covered without another data migration."""

from pathlib import Path
from typing import Any

from django.conf import settings

ANALYST = "Analyst"
COMPLIANCE_OFFICER = "Compliance officer"
APPROVE_CUSTOMER = "approve_customer"

# Rows officers may remove: connections end. Customers are deactivated, never deleted.
OFFICER_DELETABLE = {("relations", "connection")}


def project_app_labels() -> set[str]:
    """Apps of this repository that hold tenant data (not Django's, not third parties')."""
    from django.apps import apps as registry

    base = Path(settings.BASE_DIR).resolve()
    return {
        config.label
        for config in registry.get_app_configs()
        # Top-level packages of the repository; .venv's apps sit deeper.
        if Path(config.path).resolve().parent == base and config.label != "organisations"
    }


def sync_staff_groups(apps: Any) -> None:
    """Create the groups and give them their permissions; `apps` may be a migration's."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")

    analyst, _ = Group.objects.get_or_create(name=ANALYST)
    officer, _ = Group.objects.get_or_create(name=COMPLIANCE_OFFICER)
    labels = project_app_labels()

    def permission(content_type: Any, codename: str, name: str) -> Any:
        perm, _ = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name[:255]}
        )
        return perm

    for model in apps.get_models():
        opts = model._meta
        if opts.app_label not in labels:
            continue
        content_type, _ = ContentType.objects.get_or_create(
            app_label=opts.app_label, model=opts.model_name
        )
        perms = {
            action: permission(
                content_type, f"{action}_{opts.model_name}", f"Can {action} {opts.verbose_name}"
            )
            for action in ("view", "add", "change", "delete")
        }
        analyst.permissions.add(perms["view"])
        officer.permissions.add(perms["view"])
        if opts.model_name.startswith("historical"):
            continue  # history is read, never written by hand
        officer.permissions.add(perms["add"], perms["change"])
        if (opts.app_label, opts.model_name) in OFFICER_DELETABLE:
            officer.permissions.add(perms["delete"])
        if (opts.app_label, opts.model_name) == ("customers", "customer"):
            officer.permissions.add(
                permission(content_type, APPROVE_CUSTOMER, "Can approve or reject customers")
            )


def sync_staff_groups_after_migrate(sender: Any, apps: Any = None, **kwargs: Any) -> None:
    # `flush` (e.g. after transactional tests) sends post_migrate without `apps`.
    if apps is None:
        from django.apps import apps as registry

        apps = registry
    sync_staff_groups(apps)
