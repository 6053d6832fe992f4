"""Open311 GeoReport v2: our categories as services, our reports as service requests.

The domain side of ``/open311/v2`` (no Flask here): :mod:`.services` maps categories to
services, :mod:`.service_requests` maps reports to service requests field by field,
:mod:`.params` turns query strings and form posts into typed values (a repeated key is a 400
naming it), :mod:`.submit` stores a POSTed request exactly once, :mod:`.errors` maps our
errors to Open311's ``{code, description}`` list and :mod:`.render` writes JSON and XML.
Reporter contact details are written at intake and never read here.
"""

from gis_service.open311.discovery import discovery
from gis_service.open311.service_requests import (
    OPEN311_STATUS,
    RequestQuery,
    ServiceRequest,
    find_requests,
    get_request,
    request_for_token,
)
from gis_service.open311.services import Service, ServiceDefinition, list_services, service_definition

__all__ = [
    "OPEN311_STATUS",
    "RequestQuery",
    "Service",
    "ServiceDefinition",
    "ServiceRequest",
    "discovery",
    "find_requests",
    "get_request",
    "list_services",
    "request_for_token",
    "service_definition",
]
