"""Settings snf-manage refuses to run with (Django system checks of synnefo.logic)."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError


def test_a_firewall_profile_ganeti_has_no_tag_for_stops_snf_manage(settings):
    call_command("check")  # the shipped default passes
    settings.DEFAULT_FIREWALL_PROFILE = "protected"  # the tag's word, not the profile
    with pytest.raises(SystemCheckError) as exc:
        call_command("check")
    assert "synnefo.E001" in str(exc.value)
    assert "ENABLED, DISABLED, PROTECTED" in str(exc.value)
