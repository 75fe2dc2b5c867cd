"""Server-side sessions in DynamoDB (SESSION_ENGINE = "emailhub.staff.sessions").

The cookie carries only a random key. The item is stored under the key's
SHA-256, so reading the table yields no usable cookie; it carries the table's
TTL attribute, and an expired item is refused before DynamoDB gets round to
deleting it. Logging out deletes the item: a copy of the cookie kept from
before is worth nothing afterwards.
"""

import hashlib
import time

from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError

from emailhub import model
from emailhub.aws import dynamodb
from emailhub.errors import ConditionFailed


def _key(session_key):
    return f"SESSION#{hashlib.sha256(session_key.encode()).hexdigest()}", "SESSION"


class SessionStore(SessionBase):
    def load(self):
        item = dynamodb.get(*_key(self.session_key)) if self.session_key else None
        if item is None or item[model.TTL_ATTRIBUTE] <= time.time():
            self._session_key = None
            return {}
        return self.decode(item["data"])  # signed: a tampered item decodes to {}

    def exists(self, session_key):
        return dynamodb.get(*_key(session_key)) is not None

    def create(self):
        while True:
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue  # a key already taken: draw another
            self.modified = True
            return

    def save(self, must_create=False):
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)
        pk, sk = _key(self.session_key)
        item = {"pk": pk, "sk": sk, "data": self.encode(data),
                model.TTL_ATTRIBUTE: model.epoch(self.get_expiry_date())}
        try:
            # An update never brings back a session that a logout deleted.
            dynamodb.put(item, condition="attribute_not_exists(pk)" if must_create else "attribute_exists(pk)")
        except ConditionFailed as err:
            raise (CreateError if must_create else UpdateError) from err

    def delete(self, session_key=None):
        session_key = session_key or self.session_key
        if session_key:
            dynamodb.delete(*_key(session_key))

    @classmethod
    def clear_expired(cls):
        """Nothing to do: DynamoDB's TTL removes expired sessions."""
