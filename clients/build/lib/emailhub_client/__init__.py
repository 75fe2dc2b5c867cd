"""The Emailhub API for Python applications: no Django needed.

    from emailhub_client import Emailhub, EmailhubError
    client = Emailhub(api_key="eh_...", base_url="https://mail.example.com")
    accepted = client.send(to=["alice@example.com"], subject="Your order", text="Thanks!")

See clients/README.md."""

__version__ = "1.0.0"

from emailhub_client.client import Emailhub  # noqa: E402
from emailhub_client.errors import (  # noqa: E402
    AuthenticationError, ConflictError, EmailhubConnectionError, EmailhubError, NotFoundError,
    PermissionDeniedError, RateLimitError, ServerError, ServiceUnavailableError, ValidationError,
)
from emailhub_client.models import (  # noqa: E402
    Accepted, BatchItem, BatchResult, Email, EmailPage, ErrorInfo, Suppression, SuppressionPage,
)

__all__ = [
    "Emailhub", "EmailhubError", "AuthenticationError", "PermissionDeniedError", "NotFoundError", "ConflictError",
    "ValidationError", "RateLimitError", "ServerError", "ServiceUnavailableError", "EmailhubConnectionError",
    "Accepted", "BatchItem", "BatchResult", "Email", "EmailPage", "ErrorInfo", "Suppression", "SuppressionPage",
]
