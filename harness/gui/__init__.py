"""Page objects per GUI generation, chosen by a registry keyed by `GuiGeneration`.

`pages_for(target)` gives the page-object classes of the target's generation; the flows in
`harness.flows` use them and never branch on the generation themselves. A new generation
is a module with its classes and one entry in `GUI_PAGES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from harness.catalogue import GuiGeneration
from harness.errors import HarnessError
from harness.gui import camera_classic, camera_spa, recorder
from harness.gui.base import TIMEOUTS, GuiTarget, GuiTimeouts
from harness.gui.outcomes import (
    ActivationOutcome,
    CodeOutcome,
    CodeResult,
    EmailOutcome,
    LoginOutcome,
    LoginResult,
    ResetOutcome,
)
from harness.gui.pages import (
    ActivationPage,
    CameraStyleActivation,
    ForgotPasswordPage,
    LoginPage,
    UserManagementPage,
)
from harness.gui.recognise import UnrecognisedGui, recognise


@dataclass(frozen=True)
class GuiPages:
    """The page-object classes of one GUI generation."""

    generation: GuiGeneration
    activation: type[ActivationPage]
    login: type[LoginPage]
    user_management: type[UserManagementPage]
    forgot_password: type[ForgotPasswordPage]


GUI_PAGES: Final[dict[GuiGeneration, GuiPages]] = {
    GuiGeneration.RECORDER: GuiPages(
        GuiGeneration.RECORDER,
        activation=recorder.RecorderActivation,
        login=recorder.RecorderLogin,
        user_management=recorder.RecorderUserManagement,
        forgot_password=recorder.RecorderForgotPassword,
    ),
    GuiGeneration.CAMERA_CLASSIC: GuiPages(
        GuiGeneration.CAMERA_CLASSIC,
        activation=camera_classic.ClassicActivation,
        login=camera_classic.ClassicLogin,
        user_management=camera_classic.ClassicUserManagement,
        forgot_password=camera_classic.ClassicForgotPassword,
    ),
    GuiGeneration.CAMERA_SPA: GuiPages(
        GuiGeneration.CAMERA_SPA,
        activation=camera_spa.SpaActivation,
        login=camera_spa.SpaLogin,
        user_management=camera_spa.SpaUserManagement,
        forgot_password=camera_spa.SpaForgotPassword,
    ),
}


def pages_for(target: GuiTarget) -> GuiPages:
    """The page objects of `target`'s GUI generation; HarnessError for an unknown one."""
    try:
        return GUI_PAGES[GuiGeneration(target.generation)]
    except (KeyError, ValueError):
        raise HarnessError(
            f"{target.name}: no page objects for GUI generation {target.generation!r}; "
            f"known: {', '.join(str(g) for g in GUI_PAGES)}"
        ) from None


__all__ = [
    "GUI_PAGES",
    "TIMEOUTS",
    "ActivationOutcome",
    "ActivationPage",
    "CameraStyleActivation",
    "CodeOutcome",
    "CodeResult",
    "EmailOutcome",
    "ForgotPasswordPage",
    "GuiPages",
    "GuiTarget",
    "GuiTimeouts",
    "LoginOutcome",
    "LoginPage",
    "LoginResult",
    "ResetOutcome",
    "UnrecognisedGui",
    "UserManagementPage",
    "pages_for",
    "recognise",
]
