"""Routes for the admin domain (filled in by its issue)."""

from fastapi import APIRouter

router = APIRouter()
