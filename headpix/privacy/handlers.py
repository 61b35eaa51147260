"""Importing this module registers the handler of every request type."""

import headpix.privacy.erasure
import headpix.privacy.export
import headpix.privacy.objection
import headpix.privacy.rectification
import headpix.privacy.restriction  # noqa: F401
