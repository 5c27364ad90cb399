// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/stop_signals.h"

#include <gtest/gtest.h>

#include <thread>

using namespace std::chrono_literals;

TEST(StopSignals, ASignalIsTakenByTheWaiterNotAHandler) {
  converge::StopSignals stop;
  EXPECT_EQ(stop.wait_for(0ms), std::nullopt);
  // Sent from another thread, which inherited the block: the process-wide
  // signal stays pending until the waiter takes it.
  std::thread sender([] { kill(getpid(), SIGTERM); });
  sender.join();
  EXPECT_EQ(stop.wait(), SIGTERM);
  kill(getpid(), SIGINT);
  EXPECT_EQ(stop.wait_for(1000ms), SIGINT);
  EXPECT_EQ(stop.wait_for(10ms), std::nullopt);
}
