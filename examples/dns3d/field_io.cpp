// SPDX-License-Identifier: GPL-2.0-or-later
#include "field_io.h"

#include <stdexcept>

namespace dns3d {
namespace {

MPI_Datatype pencil_type(const PencilGrid& grid) {
  int sizes[3] = {grid.n, grid.n, grid.n};
  int subsizes[3] = {grid.b2(), grid.b1(), grid.n};
  int starts[3] = {grid.z0(), grid.y0(), 0};
  MPI_Datatype type;
  MPI_Type_create_subarray(3, sizes, subsizes, starts, MPI_ORDER_C, MPI_DOUBLE, &type);
  MPI_Type_commit(&type);
  return type;
}

void check(int rc, const std::string& what, const std::string& path) {
  if (rc == MPI_SUCCESS) return;
  char message[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, message, &length);
  throw std::runtime_error(what + " " + path + ": " + std::string(message, length));
}

}  // namespace

void write_field(const PencilGrid& grid, const std::string& path, const std::vector<double>& u) {
  MPI_File file;
  check(MPI_File_open(grid.cart, path.c_str(), MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL,
                      &file),
        "cannot create", path);
  MPI_Datatype type = pencil_type(grid);
  MPI_File_set_size(file, 0);
  MPI_File_set_view(file, 0, MPI_DOUBLE, type, "native", MPI_INFO_NULL);
  int rc =
      MPI_File_write_all(file, u.data(), static_cast<int>(u.size()), MPI_DOUBLE, MPI_STATUS_IGNORE);
  MPI_Type_free(&type);
  MPI_File_close(&file);
  check(rc, "cannot write", path);
}

void read_field(const PencilGrid& grid, const std::string& path, std::vector<double>& u) {
  MPI_File file;
  check(MPI_File_open(grid.cart, path.c_str(), MPI_MODE_RDONLY, MPI_INFO_NULL, &file),
        "cannot open", path);
  MPI_Offset size = 0;
  MPI_File_get_size(file, &size);
  if (size != MPI_Offset(sizeof(double)) * grid.n * grid.n * grid.n) {
    MPI_File_close(&file);
    throw std::runtime_error(path + " does not hold an N^3 field for N=" + std::to_string(grid.n));
  }
  MPI_Datatype type = pencil_type(grid);
  MPI_File_set_view(file, 0, MPI_DOUBLE, type, "native", MPI_INFO_NULL);
  u.resize(grid.pencil_size());
  int rc =
      MPI_File_read_all(file, u.data(), static_cast<int>(u.size()), MPI_DOUBLE, MPI_STATUS_IGNORE);
  MPI_Type_free(&type);
  MPI_File_close(&file);
  check(rc, "cannot read", path);
}

}  // namespace dns3d
