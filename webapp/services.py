"""Per-process services, built once by the app factory and reached from views."""

from __future__ import annotations

from flask import current_app

from .slots import SlotService


def slot_service() -> SlotService:
    return current_app.extensions["slots"]


def booking_service():
    """The booking lifecycle after the request (webapp.bookings.BookingService)."""
    return current_app.extensions["bookings"]
