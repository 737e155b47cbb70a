"""A lobby's actions: apply for the register (DESIGN §5, §7) and publish positions (§4).

The application proves that the applicant holds the lobby key: an Ed25519 signature with
``LOBBY_APPLICATION_DOMAIN`` over ``JCS({lobby_id, lobby_key, declaration})``. The declaration is
checked locally first (:func:`lobby.validate_declaration`, the rules the server applies), so a
mistake is reported before anything is sent. Positions are board records with their own ``seq``,
kept in the sealed key file like a citizen's wallet.
"""

from __future__ import annotations

from collections.abc import Mapping

from client._actor import Actor
from client._client import Client
from client.errors import UsageError
from client.models import Receipt
from client.wallet import LobbyKeyFile
from crypto.ed25519 import LOBBY_APPLICATION_DOMAIN, sign_object
from crypto.encoding import JSONValue
from lobby import InvalidDeclaration, validate_declaration

__all__ = ["LobbyAgent"]


class LobbyAgent(Actor):
    """A lobby acting with the key in ``key_file`` through ``client``."""

    def __init__(self, client: Client, key_file: LobbyKeyFile) -> None:
        super().__init__(client, key_file)
        self._key_file = key_file

    @property
    def lobby_id(self) -> str:
        return self._key_file.lobby_id

    @property
    def lobby_key(self) -> str:
        return self._key_file.public_key

    def application(self, declaration: Mapping[str, JSONValue]) -> dict[str, JSONValue]:
        """The signed body of ``POST /v1/lobbies``."""
        try:
            validate_declaration(dict(declaration))
        except InvalidDeclaration as exc:
            raise UsageError(f"the declaration is invalid: {exc}") from exc
        signed: dict[str, JSONValue] = {
            "lobby_id": self.lobby_id,
            "lobby_key": self.lobby_key,
            "declaration": dict(declaration),
        }
        sig = sign_object(self._key_file.signing_key, LOBBY_APPLICATION_DOMAIN, signed)
        return {**signed, "sig": sig}

    def apply(self, declaration: Mapping[str, JSONValue]) -> dict[str, JSONValue]:
        """Apply (or re-declare); the answer is ``{"lobby_id", "status": "pending"}``."""
        body = self.application(declaration)
        sig, declared = body["sig"], body["declaration"]
        assert isinstance(sig, str) and isinstance(declared, dict)
        return self.client.apply_lobby(self.lobby_id, self.lobby_key, declared, sig)

    def position(self, question_id: str, choice: JSONValue, statement: str) -> Receipt:
        """Publish the lobby's position on a question (tallied apart from citizens, §6)."""
        return self._publish(
            {
                "type": "lobby_position",
                "question_id": question_id,
                "lobby_id": self.lobby_id,
                "choice": choice,
                "statement": statement,
            }
        )
