# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The error every format module raises for a file it cannot edit or read safely."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class FileFormatError(Exception):
    """An existing file cannot be edited safely; it is left untouched."""
