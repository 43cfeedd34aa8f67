// placeholder: compile lands here.
namespace hdeploy {}
